import FakeUserKit
import Foundation
import Testing

/// fu-fit --policy-events: a stream policy chosen out of fold on the training users, stored
/// in the model and used by fu-watch.
@Suite struct StreamPolicyEndToEnd {
    /// Labelled events, their features, and a model with a stream policy.
    func trained(_ work: Workdir, users: Int = 1500, seed: Int = 3) throws {
        #expect(try work.run("fu-synth", ["--users", "\(users)", "--seed", "\(seed)", "-o", "events.csv"]).status == 0)
        #expect(try work.run("fu-featurize", ["events.csv", "-o", "features.csv"]).status == 0)
        let fit = try work.run("fu-fit", ["--policy-events", "events.csv", "features.csv", "-o", "model.json"])
        #expect(fit.status == 0, "\(fit.stderr)")
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func bands(_ model: [String: Any]) throws -> StreamPolicy {
        let policy = try #require(model["stream_policy"] as? [String: Any])
        let bands = try #require(policy["bands"] as? [[String: Any]])
        return StreamPolicy(bands: bands.map { .init(from: $0["from_events"] as! Int, threshold: $0["threshold"] as! Double) })
    }

    /// The stored policy equals an independent computation: fold models fitted by fu-fit on
    /// the other folds (fu-cv --oof names each user's fold), each fold's users scored after
    /// every event by fu-watch with that fold's model, and every candidate policy replayed.
    @Test func thePolicyEqualsABruteForceOverFoldModels() throws {
        let work = try Workdir()
        try trained(work, users: 600, seed: 8)
        #expect(try work.run("fu-cv", ["features.csv", "--oof", "oof.csv", "-o", "/dev/null"]).status == 0)
        let oof = csvRows(try work.read("oof.csv")).dropFirst()
        let foldOf = Dictionary(uniqueKeysWithValues: oof.map { ($0[0], $0[3]) })
        var sequences: [String: [Double]] = [:]
        for fold in 0..<5 {
            let script = """
                awk -F, 'NR==FNR { if ($4 != "\(fold)") keep[$1] = 1; next } FNR==1 || keep[$1]' oof.csv features.csv > rest.csv &&
                fu-fit rest.csv -o fold.json &&
                awk -F, 'NR==FNR { if ($4 == "\(fold)") keep[$1] = 1; next } FNR==1 || keep[$1]' oof.csv events.csv |
                fu-watch -m fold.json --emit every
                """
            let every = try work.shell(script)
            #expect(every.status == 0, "\(every.stderr)")
            for row in csvRows(every.stdout).dropFirst() { sequences[row[0], default: []].append(Double(row[2])!) }
        }
        #expect(sequences.count == foldOf.count)
        let ids = sequences.keys.sorted()
        let labels = ids.map { id in UInt8(oof.first { $0[0] == id }![1])! }
        let probabilities = ids.map { sequences[$0]! }
        // The batch bound: real users the fold models flag on whole histories (fu-cv's scores).
        let bound = oof.count { $0[1] == "0" && Double($0[2])! >= 0.5 }
        let grid = PolicySearch.thresholdGrid(modelThreshold: 0.5)
        var best: (policy: StreamPolicy, score: (Int, Int, Int))?
        for candidate in PolicySearch.candidates(gridCount: grid.count) {
            let policy = candidate.policy(grid: grid)
            var capped = 0, caught = 0, real = 0
            for (label, sequence) in zip(labels, probabilities) {
                let first = sequence.indices.first { policy.flags(sequence[$0], events: $0 + 1) }.map { $0 + 1 }
                if label == 1 { capped += min(first ?? 21, 21); caught += first == nil ? 0 : 1 } else if first != nil { real += 1 }
            }
            guard real <= bound, caught > 0 else { continue }
            if let best, (capped, -caught, real) >= best.score { continue }
            best = (policy, (capped, -caught, real))
        }
        let model = try json(try work.read("model.json"))
        #expect(try bands(model).bands == best?.policy.bands)
        let facts = try #require((model["stream_policy"] as? [String: Any])?["chosen_on"] as? [String: Any])
        #expect(facts["real_flagged_batch"] as? Int == bound && facts["real_ever_flagged"] as? Int == best?.score.2)
    }

    @Test func fuWatchUsesTheStoredPolicyUnlessFlagsOverrideIt() throws {
        let work = try Workdir()
        try trained(work)
        let model = try json(try work.read("model.json"))
        #expect(model["version"] as? Int == 3)
        let policy = try bands(model)
        let facts = try #require((model["stream_policy"] as? [String: Any])?["chosen_on"] as? [String: Any])
        #expect((facts["real_ever_flagged"] as! Int) <= (facts["max_real_ever_flagged"] as! Int))
        #expect(try work.shell("head -3001 events.csv > stream.csv").status == 0)
        /// Each line's decision against the rule the test expects.
        func check(_ arguments: [String], _ rule: (Double, Int) -> Bool) throws {
            let every = try work.run("fu-watch", ["-m", "model.json", "--emit", "every"] + arguments + ["stream.csv"])
            #expect(every.status == 0, "\(every.stderr)")
            let rows = csvRows(every.stdout).dropFirst()
            #expect(rows.count == 3000)
            #expect(rows.allSatisfy { ($0[1] == "1") == rule(Double($0[2])!, Int($0[3])!) }, "\(arguments)")
        }
        try check([]) { p, k in policy.flags(p, events: k) }
        try check(["--threshold", "0.5"]) { p, _ in p >= 0.5 }
        try check(["--min-events", "3"]) { p, k in k >= 3 && p >= 0.5 }
        // The replay summary names the policy it judged.
        #expect(try work.shell("{ echo UserId,Fake; awk -F, 'NR > 1 { print $1 \",\" $4 }' stream.csv | sort -u; } > truth.csv").status == 0)
        #expect(try work.run("fu-watch", ["-m", "model.json", "--truth", "truth.csv", "--summary", "summary.json", "stream.csv", "-o", "/dev/null"]).status == 0)
        let summary = try #require(try json(try work.read("summary.json"))["early_detection"] as? [String: Any])
        let shown = try #require(summary["policy"] as? [String: Any])
        #expect(shown["min_events"] as? Int == policy.minEvents && (shown["bands"] as? [Any])?.count == policy.bands.count)
    }

    /// A fit that fails first says so at once: it does not wait for the policy's events,
    /// read meanwhile (here from a pipe that stays open for a minute).
    @Test func aFailedFitDoesNotWaitForThePolicyEvents() throws {
        let work = try Workdir()
        try work.write("one.csv", "UserId,Fake,total_events\nA,0,1\nB,0,2\n")
        let result = try work.shell("""
            mkfifo events.pipe
            { echo UserId,Event,Category,Fake; echo A,click_ad,cars,0; exec sleep 60; } > events.pipe 2> /dev/null &
            writer=$!
            start=$(date +%s)
            fu-fit --policy-events events.pipe one.csv -o model.json 2> fit.err
            echo "status $? seconds $(( $(date +%s) - start ))"
            kill $writer
            """)
        let words = result.stdout.split(separator: " ")
        #expect(words.count == 4 && words[1] == "65" && Int(words[3].trimmingCharacters(in: .whitespacesAndNewlines))! < 20, "\(result.stdout)")
        let message = try work.read("fit.err")
        #expect(message.hasPrefix("fu-fit: error: only one class in the training rows"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: work.url.appendingPathComponent("model.json").path))
    }

    @Test func badPoliciesAndInputsAreNamed() throws {
        let work = try Workdir()
        try trained(work, users: 300)
        let bound = try work.run("fu-fit", ["--policy-events", "events.csv", "--policy-bound", "2", "features.csv"])
        #expect(bound.status == 64 && bound.stderr.hasPrefix("fu-fit: error: --policy-bound must be 'batch' or a share of the real users between 0 and 1, not '2'"), "\(bound.stderr)")
        let alone = try work.run("fu-fit", ["--policy-bound", "0.01", "features.csv"])
        #expect(alone.status == 64 && alone.stderr.hasPrefix("fu-fit: error: --policy-bound needs --policy-events FILE"), "\(alone.stderr)")
        // A user of the events that the features lack, and a training user without events.
        #expect(try work.shell("(cat events.csv; echo 'STRANGER,send_sms,Phone,0') > more.csv && grep -v '^[^,]*5,' events.csv > fewer.csv").status == 0)
        let stranger = try work.run("fu-fit", ["--policy-events", "more.csv", "features.csv", "-o", "m.json"])
        #expect(stranger.status == 65 && stranger.stderr.hasPrefix("fu-fit: error: user 'STRANGER' is not among the training users: --policy-events takes their events only (more.csv:"), "\(stranger.stderr)")
        let silent = try work.run("fu-fit", ["--policy-events", "fewer.csv", "features.csv", "-o", "m.json"])
        #expect(silent.status == 65 && silent.stderr.contains("has no events in the --policy-events input"), "\(silent.stderr)")
        #expect(try work.files().contains("m.json") == false)
        let missing = try work.run("fu-fit", ["--policy-events", "nowhere.csv", "features.csv"])
        #expect(missing.status == 66, "\(missing.stderr)")
        // Both from stdin: one of them would read nothing.
        let both = try work.shell("fu-fit --policy-events - -o m.json < features.csv")
        #expect(both.status == 64 && both.stderr.hasPrefix("fu-fit: error: --policy-events - and the features would both read stdin: name a file for one of them"), "\(both.stderr)")
        // A damaged policy in a model file.
        #expect(try work.shell("sed 's/\"from_events\": [0-9]*/\"from_events\": 0/' model.json > bad.json").status == 0)
        let bad = try work.run("fu-watch", ["-m", "bad.json", "events.csv"])
        #expect(bad.status == 65 && bad.stderr == "fu-watch: error: invalid model: \(StreamPolicy.shape) (bad.json)\n", "\(bad.stderr)")
        let minimum = try work.run("fu-watch", ["-m", "model.json", "--min-events", "0", "events.csv"])
        #expect(minimum.status == 64 && minimum.stderr.hasPrefix("fu-watch: error: --min-events must be at least 1"))
    }
}
