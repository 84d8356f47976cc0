import Foundation
import Testing

/// `fu-fit --bands capacity=R,precision=P` chosen on fu-cv's out-of-fold predictions (the
/// same folds and seed) by a direct count, then the Decision column through fu-score,
/// fu-watch and fu-serve.
@Suite struct DecisionBandsEndToEnd {
    /// Features, events and a banded model (`model.json`) in a new folder.
    func banded() throws -> (Workdir, bands: (review: Double?, block: Double?)) {
        let work = try Workdir()
        let made = try work.shell("""
            fu-synth --users 1500 --seed 9 > events.csv && fu-featurize events.csv > features.csv &&
            fu-cv --folds 4 --seed 3 --oof oof.csv features.csv > cv.json &&
            fu-fit --bands capacity=0.05,precision=0.9 --folds 4 --seed 3 -o model.json features.csv
            """)
        #expect(made.status == 0, "\(made.stderr)")
        let model = try #require(try JSONSerialization.jsonObject(with: Data(try work.read("model.json").utf8)) as? [String: Any])
        #expect(model["version"] as? Int == 4)
        let bands = try #require(model["decision_bands"] as? [String: Any])
        return (work, (bands["review"] as? Double, bands["block"] as? Double))
    }

    func decision(_ probability: Double, _ bands: (review: Double?, block: Double?)) -> String {
        if let block = bands.block, probability >= block { return "block" }
        if let review = bands.review, probability >= review { return "review" }
        return "allow"
    }

    @Test func bandsAreChosenOnOutOfFoldScoresAndFuScoreWritesThem() throws {
        let (work, bands) = try banded()
        let oof = csvRows(try work.read("oof.csv")).dropFirst()
        let (labels, scores) = (oof.map { Int($0[1])! }, oof.map { Double($0[2])! })
        let precise = Set(scores).filter { t in
            let at = zip(labels, scores).filter { $0.1 >= t }
            return Double(at.filter { $0.0 == 1 }.count) / Double(at.count) >= 0.9
        }
        // The most fakes caught at that precision; the highest score on a tie.
        func fakes(from t: Double) -> Int { zip(labels, scores).filter { $0.1 >= t && $0.0 == 1 }.count }
        let most = precise.map(fakes(from:)).max()
        let block = precise.filter { fakes(from: $0) == most }.max()
        let blockFrom = block ?? .infinity
        let reviewable = Set(scores.filter { $0 < blockFrom }).filter { t in
            Double(scores.filter { $0 >= t && $0 < blockFrom }.count) <= 0.05 * 1500
        }
        // fu-cv writes the same probabilities as fu-fit's folds, up to the last bit.
        func close(_ a: Double?, _ b: Double?) -> Bool { a != nil && b != nil && abs(a! - b!) < 1e-12 }
        #expect(close(bands.block, block), "\(String(describing: bands.block)) \(String(describing: block))")
        #expect(close(bands.review, reviewable.min()), "\(String(describing: bands.review)) \(String(describing: reviewable.min()))")

        let scored = try work.run("fu-score", ["-m", "model.json", "features.csv"])
        #expect(scored.status == 0, "\(scored.stderr)")
        let rows = csvRows(scored.stdout)
        #expect(rows.first == ["UserId", "Fake", "Probability", "Decision"])
        for row in rows.dropFirst() { #expect(row[3] == decision(Double(row[2])!, bands)) }
        #expect(Set(rows.dropFirst().map { $0[3] }).isSuperset(of: ["allow", "review"]))
        let json = try work.run("fu-score", ["-m", "model.json", "--format", "jsonl", "features.csv"])
        let first = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.split(separator: "\n")[0].utf8)) as? [String: Any])
        #expect(first["Decision"] as? String == decision(try #require(first["Probability"] as? Double), bands))
    }

    @Test func badBandsAreAUsageErrorThatKeepsTheModel() throws {
        let work = try Workdir()
        #expect(try work.shell("fu-synth --users 200 --seed 2 | fu-featurize > features.csv").status == 0)
        try work.write("model.json", "previous\n")
        for bad in ["capacity=0.05", "capacity=0.05,precision=2", "review=0.1,precision=0.9"] {
            let result = try work.run("fu-fit", ["--bands", bad, "-o", "model.json", "features.csv"])
            #expect(result.status == 64)
            #expect(result.stderr.hasPrefix("fu-fit: error: --bands must be 'capacity=R,precision=P': "), "\(result.stderr)")
            #expect(result.stderr.contains("not '\(bad)'"))
            #expect(try work.read("model.json") == "previous\n")
        }
    }

    /// fu-watch's final rows are fu-score's, Decision included; `--emit changes` writes a
    /// line exactly when a user's (Fake, Decision) differs from its last, as `--emit every`
    /// shows them.
    @Test func fuWatchWritesTheBandsAndItsChanges() throws {
        let (work, _) = try banded()
        let final = try work.shell("fu-watch -m model.json --emit final events.csv")
        let batch = try work.shell("fu-score -m model.json features.csv")
        #expect(final.status == 0 && final.stdout == batch.stdout)

        let every = csvRows(try work.shell("fu-watch -m model.json --emit every events.csv").stdout)
        let changes = csvRows(try work.shell("fu-watch -m model.json events.csv").stdout)
        #expect(every.first == ["UserId", "Fake", "Probability", "Decision", "events"])
        #expect(changes.first == every.first)
        var last: [String: [String]] = [:]
        var expected: [[String]] = []
        for row in every.dropFirst() {
            let verdict = [row[1], row[3]]
            if verdict != (last[row[0]] ?? ["0", "allow"]) { expected.append(row) }
            last[row[0]] = verdict
        }
        #expect(Array(changes.dropFirst()) == expected)
        // Some lines are a band change alone: the flag stays, the decision moves.
        var previous: [String: [String]] = [:]
        let bandOnly = changes.dropFirst().filter { row in
            defer { previous[row[0]] = row }
            return previous[row[0]].map { $0[1] == row[1] && $0[3] != row[3] } ?? false
        }
        #expect(!bandOnly.isEmpty)

        // With a minimum of events, a user is allowed (and not flagged) until it has them,
        // then banded by its probability.
        let (bands, threshold) = try bandsAndThreshold(work)
        let waiting = csvRows(try work.shell("fu-watch -m model.json --min-events 3 --emit every events.csv").stdout).dropFirst()
        #expect(waiting.count == every.count - 1)
        for row in waiting {
            let (probability, events) = (Double(row[2])!, Int(row[4])!)
            #expect(row[1] == (events >= 3 && probability >= threshold ? "1" : "0"), "\(row)")
            #expect(row[3] == (events >= 3 ? decision(probability, bands) : "allow"), "\(row)")
        }
    }

    func bandsAndThreshold(_ work: Workdir) throws -> ((review: Double?, block: Double?), Double) {
        let model = try #require(try JSONSerialization.jsonObject(with: Data(try work.read("model.json").utf8)) as? [String: Any])
        let bands = try #require(model["decision_bands"] as? [String: Any])
        return ((bands["review"] as? Double, bands["block"] as? Double), try #require(model["threshold"] as? Double))
    }

    /// A stream stopped and carried on from its state writes the lines one run would; a
    /// state saved under a banded model and carried on under a plain one writes what a
    /// plain state would (the saved decisions are made again, never replayed as changes).
    @Test func aRestartedStreamWritesWhatOneRunWould() throws {
        let (work, _) = try banded()
        #expect(try work.shell("""
            set -e
            fu-fit --folds 4 --seed 3 -o plain.json features.csv
            rows=$(($(wc -l < events.csv) - 1))
            { head -n 1 events.csv; tail -n +2 events.csv | head -n $((rows / 2)); } > first.csv
            { head -n 1 events.csv; tail -n +$((rows / 2 + 2)) events.csv; } > second.csv
            fu-watch -m model.json events.csv > whole.csv
            fu-watch -m model.json --state s.json first.csv > a.csv
            fu-watch -m model.json --state s.json second.csv > b.csv
            fu-watch -m model.json --state banded.json first.csv > /dev/null
            fu-watch -m plain.json --state plain-state.json first.csv > /dev/null
            fu-watch -m plain.json --min-events 5 --state banded.json second.csv > from-banded.csv
            fu-watch -m plain.json --min-events 5 --state plain-state.json second.csv > from-plain.csv
            """).status == 0)
        #expect(try work.read("a.csv") + (try work.read("b.csv")).split(separator: "\n", maxSplits: 1)[1] == (try work.read("whole.csv")))
        #expect(try work.read("from-banded.csv") == (try work.read("from-plain.csv")))
    }

    @Test func fuServeAnswersWithTheDecision() throws {
        let (work, bands) = try banded()
        #expect(try work.shell("head -n 200 events.csv > some.csv").status == 0)
        let server = try ServeEndToEnd.Server(work, ["-m", "model.json"])
        func post(_ path: String) throws -> [[String]] {
            csvRows(try work.shell("curl -sS --data-binary @some.csv -H 'Content-Type: text/csv' -H 'Accept: text/csv' localhost:\(server.port)\(path)").stdout)
        }
        let predicted = try post("/predict")
        #expect(predicted.first == ["UserId", "Fake", "Probability", "Decision"])
        let batch = csvRows(try work.shell("fu-featurize some.csv | fu-score -m model.json").stdout)
        #expect(predicted == batch)
        let streamed = try post("/events")
        #expect(streamed.first == ["UserId", "Fake", "Probability", "Decision", "events"])
        for row in streamed.dropFirst() { #expect(row[3] == decision(Double(row[2])!, bands)) }
        let someone = try #require(streamed.dropFirst().first)
        let one = csvRows(try work.shell("curl -sS -H 'Accept: text/csv' localhost:\(server.port)/users/\(someone[0])").stdout)
        #expect(one == [streamed[0], someone])
        let json = try work.shell("curl -sS localhost:\(server.port)/users/\(someone[0])").stdout
        #expect(json.contains("\"Decision\":\"\(someone[3])\""), "\(json)")
    }
}
