import CZstd
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered byte sink: stdout or a file, optionally zstd-compressed. A file is written
/// under a temporary name beside it and renamed only by `commit()`, so a failed run never
/// leaves a half-written file or destroys the previous good one.
public final class ByteOutput {
    public let name: String
    private let fd: Int32
    private let finalPath: String?
    private let temporaryPath: String?
    private var encoder: ZstdEncoder?
    private var buffer: UnsafeMutablePointer<UInt8>
    /// For an in-memory output, the room for all its bytes, grown as needed.
    private var capacity = ByteOutput.bufferCapacity
    /// The most `reserve` may ask for.
    static let bufferCapacity = 1 << 18
    private var count = 0
    private var finished = false
    /// Where zstd runs when not on the caller's thread, and the first error it met there.
    private let compressor: CompressionThread?
    private var backgroundError: (any Error)?

    /// `path` nil or "-" writes stdout. `compress` nil means "when the name ends in .zst".
    /// With `compressor`, zstd and the writes run on that thread (the bytes are the same).
    public init(path: String?, compress: Bool? = nil, level: Int32 = 3, compressor: CompressionThread? = nil) throws {
        let usesStdout = path == nil || path == "-"
        if usesStdout {
            fd = 1
            name = "stdout"
            finalPath = nil
            temporaryPath = nil
        } else {
            let path = path!
            name = path
            switch try ByteOutput.destination(of: path) {
            case .descriptor(let number):
                // /dev/stdout, /dev/fd/N: the open descriptor itself (its offset, a socket too).
                let copy = fcntl(number, F_DUPFD_CLOEXEC, 3)
                if copy < 0 { throw ToolError.io("cannot open \(path): \(FileDescriptor.errnoText())") }
                fd = copy
                finalPath = nil
                temporaryPath = nil
            case .inPlace(let target):
                // /dev/null, a FIFO, a terminal: written in place (a rename would replace it).
                let opened = open(target, O_WRONLY | O_CLOEXEC)
                if opened < 0 { throw ToolError.io("cannot open \(path): \(FileDescriptor.errnoText())") }
                fd = opened
                finalPath = nil
                temporaryPath = nil
            case .file(let target):
                // A symlink is written through: the rename goes onto its target, the link stays.
                let temporary = ByteOutput.temporaryName(for: target)
                // Remembered first: a signal right after the file appears still removes it.
                TemporaryFiles.remember(temporary)
                let opened = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
                if opened < 0 {
                    let reason = FileDescriptor.errnoText()
                    TemporaryFiles.forget(temporary)
                    throw ToolError.io("cannot create \(path): \(reason)")
                }
                ByteOutput.filesInProgress.add(1, ordering: .relaxed)  // given back by publish or abandon
                fd = opened
                finalPath = target
                temporaryPath = temporary
            }
        }
        buffer = .allocate(capacity: capacity)
        let wantsZstd = compress ?? (path?.hasSuffix(".zst") ?? false)
        if wantsZstd { encoder = try ZstdEncoder(level: level) }
        self.compressor = wantsZstd ? compressor : nil
    }

    /// Files being written under a temporary name. While there are any, a closed stdout
    /// (`| head`) does not stop the tool: the files are still finished and committed
    /// (`fu-split --test t.csv | head`), and only stdout's bytes are dropped.
    private static let filesInProgress = Atomic<Int>(0)
    /// Stdout's reader went away while files were in progress: later bytes are dropped.
    private var readerGone = false

    /// An output that collects its bytes in memory (for formatting parts of one output in
    /// parallel); `collected()` or `withCollected` hands them over. Its buffer holds them
    /// all, written in place: `expectedBytes` is room made at once (and untouched until
    /// written), so that they are not copied again as the buffer grows.
    public init(inMemory: Void, expectedBytes: Int = 0) {
        fd = -1
        name = "memory"
        finalPath = nil
        temporaryPath = nil
        compressor = nil
        capacity = max(expectedBytes, ByteOutput.bufferCapacity)
        buffer = .allocate(capacity: capacity)
    }

    private var isInMemory: Bool { fd < 0 }

    /// A copy of the bytes collected; the output is then empty.
    public func collected() throws -> [UInt8] {
        defer { count = 0 }
        return Array(UnsafeBufferPointer(start: buffer, count: count))
    }

    /// The bytes collected, in place (valid during `body`).
    public func withCollected<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: buffer, count: count))
    }

    deinit {
        if !finished { abandon() }
        buffer.deallocate()
    }

    enum Destination: Equatable {
        /// One of this process's open descriptors.
        case descriptor(Int32)
        /// Exists and is not a regular file: opened and written, never renamed over.
        case inPlace(String)
        /// A regular file (or none yet): written beside it and renamed onto it.
        case file(String)
    }

    /// Where writing `path` goes, following its chain of symlinks to the end. A dangling
    /// link is created through, as the shell's `>` does.
    static func destination(of path: String) throws -> Destination {
        var current = path
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else {
                return isSpecialFile(current) ? .inPlace(current) : .file(current)
            }
            let folder = current.lastIndex(of: "/").map { String(current[...$0]) } ?? ""
            // /proc's fd links are not paths to rename onto: /proc/self/fd/1 of a stdout
            // redirected to a file reads back as that file's name.
            if let real = realPath(folder.isEmpty ? "." : folder), real.hasPrefix("/proc/") {
                let base = current[current.index(after: current.lastIndex(of: "/")!)...]
                if real == "/proc/\(getpid())/fd", let number = Int32(base) { return .descriptor(number) }
                return .inPlace(current)
            }
            var text = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(current, &text, text.count - 1)
            if length < 0 { throw ToolError.io("cannot read link \(path): \(FileDescriptor.errnoText())") }
            let target = String(decoding: text[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // A relative target is relative to the link's folder.
            current = target.hasPrefix("/") ? target : folder + target
        }
        throw ToolError.io("cannot write \(path): too many levels of symbolic links")
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// True when `path` exists and is not a regular file (a device, a FIFO, a terminal).
    static func isSpecialFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG
    }

    /// `.NAME.tmp-PID-N` in the target's folder, so the final rename stays on one file system.
    static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(folder).\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    // MARK: Writing

    @inline(__always)
    public func write(byte: UInt8) throws {
        if count == capacity { try makeRoom(1) }
        buffer[count] = byte
        count += 1
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        if bytes.count > capacity - count {
            try makeRoom(bytes.count)
            if bytes.count > capacity - count {
                try emit(bytes)
                return
            }
        }
        (buffer + count).update(from: base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        count += bytes.count
    }

    public func write(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        try write(UnsafeRawBufferPointer(bytes))
    }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Room for at least `needed` bytes without a flush; used by the number formatters.
    @inline(__always)
    func reserve(_ needed: Int) throws -> UnsafeMutablePointer<UInt8> {
        if capacity - count < needed { try makeRoom(needed) }
        return buffer + count
    }

    @inline(__always)
    func advance(_ written: Int) { count += written }

    /// Writes out what is buffered (a stream's answers, as soon as they are known).
    public func flush() throws {
        try flushBuffer()
    }

    /// Writes the buffer out, or, in memory, makes it larger.
    private func makeRoom(_ needed: Int) throws {
        if isInMemory {
            reserveRoom(&buffer, capacity: &capacity, used: count, needed: count + needed)
        } else {
            try flushBuffer()
        }
    }

    private func flushBuffer() throws {
        guard count > 0, !isInMemory else { return }
        let bytes = UnsafeRawBufferPointer(start: buffer, count: count)
        count = 0
        try emit(bytes)
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try emitOrThrow(bytes)
        } catch is BrokenPipe where fd == 1 && ByteOutput.filesInProgress.load(ordering: .relaxed) > 0 {
            readerGone = true
        }
    }

    private func emitOrThrow(_ bytes: UnsafeRawBufferPointer) throws {
        if readerGone { return }
        if let compressor {
            compressor.submit(.data(self, Array(bytes)))
        } else if let encoder {
            try encoder.compress(bytes, end: false) { try FileDescriptor.writeAll(fd, $0, name: name) }
        } else {
            try FileDescriptor.writeAll(fd, bytes, name: name)
        }
    }

    /// Flushes everything; for a file, renames the temporary file into place.
    public func commit() throws {
        try ByteOutput.commit([self])
    }

    /// Commits a tool's outputs together: every one is written out and closed first, and
    /// only when all succeeded are they renamed into place. A failure (a full disk on the
    /// last one) then leaves every previous file as it was.
    public static func commit(_ outputs: [ByteOutput?]) throws {
        let outputs = outputs.compactMap { $0 }
        do {
            for output in outputs { try output.finishWriting() }
        } catch {
            for output in outputs { output.abandon() }
            throw error
        }
        for output in outputs { try output.publish() }
    }

    private var written = false

    /// Flushes, ends the zstd frame and closes; a file keeps its temporary name.
    private func finishWriting() throws {
        guard !finished, !written else { return }
        try flushBuffer()
        if let compressor {
            if let error = compressor.wait(for: self, end: true) { throw error }
        } else if let encoder, !readerGone {
            try encoder.compress(UnsafeRawBufferPointer(start: nil, count: 0), end: true) {
                try FileDescriptor.writeAll(fd, $0, name: name)
            }
        }
        written = true
        if temporaryPath != nil && close(fd) != 0 {
            throw ToolError.io("cannot write \(name): \(FileDescriptor.errnoText())")
        }
    }

    /// Renames a written file into place.
    private func publish() throws {
        guard !finished else { return }
        finished = true
        if temporaryPath != nil { ByteOutput.filesInProgress.subtract(1, ordering: .relaxed) }
        if fd > 2 && temporaryPath == nil { close(fd) }
        if let temporaryPath, let finalPath {
            defer { TemporaryFiles.forget(temporaryPath) }
            if rename(temporaryPath, finalPath) != 0 {
                let text = FileDescriptor.errnoText()
                unlink(temporaryPath)
                throw ToolError.io("cannot write \(finalPath): \(text)")
            }
        }
    }

    /// Drops a file's temporary copy; the previous file at the final name is untouched.
    public func abandon() {
        guard !finished else { return }
        // The compression thread may still be writing to the descriptor: let it finish first.
        if let compressor, !written { _ = compressor.wait(for: self, end: false) }
        finished = true
        if temporaryPath != nil { ByteOutput.filesInProgress.subtract(1, ordering: .relaxed) }
        if fd > 2 && temporaryPath == nil { close(fd) }
        if let temporaryPath {
            if !written { close(fd) }
            unlink(temporaryPath)
            TemporaryFiles.forget(temporaryPath)
        }
    }
}

/// Runs zstd for outputs on one background thread, so that a tool that only copies rows
/// (fu-partition into many buckets) parses on one core while zstd works on another. Each
/// output's chunks are compressed in the order written, so the bytes are those of a
/// compression on the caller's thread. Call `stop()` when the outputs are done.
public final class CompressionThread: @unchecked Sendable {
    enum Job {
        case data(ByteOutput, [UInt8])
        /// All earlier jobs are done: reply with the output's first error (after ending its frame).
        case wait(ByteOutput, end: Bool, reply: BlockingQueue<(any Error)?>)
        case stop
    }

    private let jobs = BlockingQueue<Job>(capacity: 16)
    private var thread: BackgroundThread?

    public init() {
        thread = BackgroundThread { [jobs] in
            while true {
                switch jobs.take() {
                case .data(let output, let bytes): output.compressInBackground(bytes)
                case .wait(let output, let end, let reply): reply.put(output.finishInBackground(end: end))
                case .stop: return
                }
            }
        }
    }

    func submit(_ job: Job) {
        precondition(thread != nil, "compression thread used after stop()")
        jobs.put(job)
    }

    /// Waits until the output's chunks so far are written; `end` also ends its zstd frame.
    func wait(for output: ByteOutput, end: Bool) -> (any Error)? {
        guard thread != nil else { return nil }
        let reply = BlockingQueue<(any Error)?>(capacity: 1)
        jobs.put(.wait(output, end: end, reply: reply))
        return reply.take()
    }

    /// Ends the thread once the jobs before have run.
    public func stop() {
        guard let thread else { return }
        jobs.put(.stop)
        thread.join()
        self.thread = nil
    }
}

extension ByteOutput {
    /// On the compression thread. After a failure the output's later chunks are dropped;
    /// the error is thrown when the output is committed.
    fileprivate func compressInBackground(_ bytes: [UInt8]) {
        guard backgroundError == nil, let encoder else { return }
        do {
            try bytes.withUnsafeBytes { bytes in
                try encoder.compress(bytes, end: false) { try FileDescriptor.writeAll(fd, $0, name: name) }
            }
        } catch {
            backgroundError = error
        }
    }

    fileprivate func finishInBackground(end: Bool) -> (any Error)? {
        guard end, backgroundError == nil, let encoder else { return backgroundError }
        do {
            try encoder.compress(UnsafeRawBufferPointer(start: nil, count: 0), end: true) {
                try FileDescriptor.writeAll(fd, $0, name: name)
            }
        } catch {
            backgroundError = error
        }
        return backgroundError
    }
}

/// libzstd's streaming encoder.
final class ZstdEncoder {
    private let context: OpaquePointer
    private var output: UnsafeMutableRawPointer
    private let outputCapacity: Int

    init(level: Int32) throws {
        guard let context = ZSTD_createCCtx() else { throw ToolError(.software, "cannot create zstd encoder") }
        self.context = context
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        // A content checksum, as the zstd tool writes: corruption is found, not decoded.
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        outputCapacity = ZSTD_CStreamOutSize()
        output = UnsafeMutableRawPointer.allocate(byteCount: outputCapacity, alignment: 16)
    }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
    }

    func compress(_ bytes: UnsafeRawBufferPointer, end: Bool, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var inBuffer = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        let mode = end ? ZSTD_e_end : ZSTD_e_continue
        while true {
            var outBuffer = ZSTD_outBuffer(dst: output, size: outputCapacity, pos: 0)
            let remaining = ZSTD_compressStream2(context, &outBuffer, &inBuffer, mode)
            if ZSTD_isError(remaining) != 0 {
                throw ToolError(.software, "zstd: \(String(cString: ZSTD_getErrorName(remaining)))")
            }
            if outBuffer.pos > 0 { try sink(UnsafeRawBufferPointer(start: output, count: outBuffer.pos)) }
            let done = end ? remaining == 0 : inBuffer.pos == inBuffer.size
            if done { return }
        }
    }
}
