/// fu-watch's run around the scorer: answers flushed before every read that may wait, the
/// state and the metrics file saved at their checkpoints, at the end and on a stop signal
/// (at a safe point: the lock is free only while the stream waits for input), and the
/// early-detection summary.
public struct WatchSession {
    public var statePath: String?
    public var checkpointEvery: Int?
    /// fu-watch's `--metrics`: `write` every `every` events, at the end and on a stop
    /// signal. It reports its own failures: a metrics file that cannot be written must not
    /// stop the stream.
    public var metrics: (every: Int, write: (StreamScorer) -> Void)?
    /// `--truth` and `--summary`: the replay evaluation's input and output.
    public var truthPath: String?
    public var summaryPath: String?

    public init(statePath: String? = nil, checkpointEvery: Int? = nil, truthPath: String? = nil, summaryPath: String? = nil) {
        self.statePath = statePath
        self.checkpointEvery = checkpointEvery
        self.truthPath = truthPath
        self.summaryPath = summaryPath
    }

    /// Reads the stream to its end and commits `output` (and the summary) together.
    public func run(scorer: StreamScorer, reader: TableReader, output: ByteOutput, stop: StopSignals, progress: Progress?) throws -> WatchSummary {
        let (statePath, stateEvery, metrics) = (self.statePath, self.checkpointEvery, self.metrics)
        let save = { (scorer: StreamScorer) in
            metrics?.write(scorer)
            if let statePath { try scorer.save(to: statePath) }
        }
        // Called at multiples of both cadences' greatest common divisor; each takes its own.
        let cadences = [stateEvery, metrics?.every].compactMap { $0 }
        let checkpointEvery = cadences.isEmpty ? nil : cadences.reduce(cadences[0]) { a, b in
            var (a, b) = (a, b)
            while b != 0 { (a, b) = (b, a % b) }
            return a
        }
        let checkpoint = {
            if let statePath, let stateEvery, scorer.consumed % stateEvery == 0 { try scorer.save(to: statePath) }
            if let metrics, scorer.consumed % metrics.every == 0 { metrics.write(scorer) }
        }
        var replay = try truthPath.map {
            EarlyDetection(truth: try ScoredUsers.readTruth($0), truthName: $0, policy: scorer.policy)
        }
        stop.lock()
        reader.readHooks = (before: { try output.flush(); stop.unlock() }, after: { stop.lock() })
        // The stop thread runs only while the stream holds no lock on them.
        nonisolated(unsafe) let unsafeScorer = scorer
        nonisolated(unsafe) let unsafeOutput = output
        nonisolated(unsafe) let unsafeSave = save
        stop.onStop {
            do { try unsafeSave(unsafeScorer) } catch {
                writeToStandardError("\(runningToolName): error: \(error)\n")
            }
            try? unsafeOutput.flush()
            unsafeOutput.abandon()  // an -o file is not finished: its temporary copy goes, the old file stays
        }
        let observe: ((UnsafeBufferPointer<UInt8>, Bool, Int) throws -> Void)? = replay == nil ? nil : { user, flagged, events in
            try replay?.observe(user, flagged: flagged, events: events)
        }
        let summary = try scorer.run(
            reader: reader, output: output, checkpointEvery: checkpointEvery, checkpoint: checkpoint, progress: progress, observe: observe)
        // Without a state the users' histories end with the input; with one they go on
        // in the next run.
        if statePath == nil { scorer.inputEnded() }
        try save(scorer)
        var summaryFile: ByteOutput?
        if let replay, let summaryPath {
            summaryFile = try ByteOutput(path: summaryPath)
            try summaryFile?.write(JSONValue.object([("early_detection", replay.json)]).rendered())
        }
        try ByteOutput.commit([summaryFile, output])
        return summary
    }
}
