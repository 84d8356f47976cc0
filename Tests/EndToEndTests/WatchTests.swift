import Foundation
import Testing

/// fu-watch: a stream scorer whose answers equal batch fu-featurize | fu-score.
@Suite struct Watch {
    /// Synthetic labelled events, their features and a model fitted on them.
    func trained(_ work: Workdir, users: Int = 800, seed: Int = 5) throws {
        #expect(try work.run("fu-synth", ["--users", "\(users)", "--seed", "\(seed)", "-o", "events.csv"]).status == 0)
        #expect(try work.run("fu-featurize", ["events.csv", "-o", "features.csv"]).status == 0)
        #expect(try work.run("fu-fit", ["features.csv", "-o", "model.json"]).status == 0)
    }

    @Test func finalEqualsBatchOnTheBundledData() throws {
        let work = try Workdir()
        let root = Workflow.root.path
        let batch = try work.shell("fu-featurize '\(root)/data/events.csv.zst' | fu-score -m '\(root)/models/fake_user_detector.json'")
        let watch = try work.run("fu-watch", ["-m", "\(root)/models/fake_user_detector.json", "--emit", "final", "\(root)/data/events.csv.zst"])
        #expect(batch.status == 0 && watch.status == 0, "\(watch.stderr)")
        #expect(watch.stdout == batch.stdout && csvRows(watch.stdout).count == 5001)
        // And as JSON Lines.
        let json = try work.shell("fu-featurize '\(root)/data/events.csv.zst' | fu-score --format jsonl -m '\(root)/models/fake_user_detector.json' | cmp - <(fu-watch --format jsonl --emit final -m '\(root)/models/fake_user_detector.json' '\(root)/data/events.csv.zst')")
        #expect(json.status == 0, "\(json.stdout)")
    }

    /// `--explain K` as fu-score's: the final lines equal the batch filters' byte for byte,
    /// and each line of a stream carries the user's reasons at that event (its last line's
    /// are the final ones).
    @Test func explainGivesFuScoresReasons() throws {
        let work = try Workdir()
        let model = "\(Workflow.root.path)/models/fake_user_detector.json"
        #expect(try work.shell("fu-synth --users 60 --seed 21 | cut -d, -f1-3 > events.csv").status == 0)
        for format in ["csv", "jsonl"] {
            let batch = try work.shell("fu-featurize events.csv | fu-score -m '\(model)' --explain 3 --format \(format)")
            let final = try work.run("fu-watch", ["-m", model, "--emit", "final", "--explain", "3", "--format", format, "events.csv"])
            #expect(final.status == 0 && final.stdout == batch.stdout, "\(final.stderr)")
        }
        let every = try work.run("fu-watch", ["-m", model, "--emit", "every", "--explain", "3", "events.csv"])
        #expect(every.status == 0)
        let lines = every.stdout.split(separator: "\n")
        #expect(lines.first == "UserId,Fake,Probability,events,reasons")
        var last: [Substring: Substring] = [:]
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", maxSplits: 4)
            #expect(fields.count == 5 && fields[4].split(separator: ";").count == 3)
            last[fields[0]] = fields[4]
        }
        let batch = try work.shell("fu-featurize events.csv | fu-score -m '\(model)' --explain 3")
        for line in batch.stdout.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",", maxSplits: 3)
            #expect(last[fields[0]] == fields[3])
        }
        let tooMany = try work.run("fu-watch", ["-m", model, "--explain", "99", "events.csv"])
        #expect(tooMany.status == 64)
        #expect(tooMany.stderr.contains("--explain must be a number of reasons from 1 to"))
    }

    @Test func finalEqualsBatchOn200000Users() throws {
        let work = try Workdir()
        #expect(try work.run("fu-synth", ["--users", "200000", "--seed", "9", "-o", "events.csv.zst"]).status == 0)
        let root = Workflow.root.path
        let result = try work.shell("""
            fu-featurize events.csv.zst | fu-score -m '\(root)/models/fake_user_detector.json' > batch.csv &&
            fu-watch -m '\(root)/models/fake_user_detector.json' --emit final events.csv.zst > watch.csv && cmp batch.csv watch.csv && wc -l < watch.csv
            """)
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "200001")
    }

    /// --emit every and changes agree with scoring every prefix of the stream in batch: after
    /// event k, a user's probability is fu-score's on the features of events 1…k.
    @Test func everyPrefixIsScoredAsInBatch() throws {
        let work = try Workdir()
        try trained(work)
        // The first 40 events of the stream, from a few users.
        #expect(try work.shell("head -41 events.csv > stream.csv").status == 0)
        let every = csvRows(try work.run("fu-watch", ["-m", "model.json", "--emit", "every", "stream.csv"]).stdout)
        #expect(every.count == 41 && every[0] == ["UserId", "Fake", "Probability", "events"])
        let rows = csvRows(try work.read("stream.csv"))
        var expectedChanges: [[String]] = [["UserId", "Fake", "Probability", "events"]]
        var flagged: [String: Bool] = [:]
        for k in 1...40 {
            let user = rows[k][0]
            // Batch: featurize the prefix, score, take this user's row.
            let batch = try work.shell("head -\(k + 1) stream.csv | fu-featurize | fu-score -m model.json | grep '^\(user),'")
            let scored = csvRows(batch.stdout)[0]
            let events = rows[1...k].count { $0[0] == user }
            #expect(every[k] == [user, scored[1], scored[2], "\(events)"], "event \(k)")
            if (scored[1] == "1") != (flagged[user] ?? false) {
                flagged[user] = scored[1] == "1"
                expectedChanges.append([user, scored[1], scored[2], "\(events)"])
            }
        }
        let changes = csvRows(try work.run("fu-watch", ["-m", "model.json", "stream.csv"]).stdout)
        #expect(changes == expectedChanges)
        // The replay evaluation, from the batch scores of every prefix.
        var firstFlag: [String: Int] = [:], last: [String: Bool] = [:], label: [String: String] = [:]
        for k in 1...40 {
            let user = rows[k][0]
            label[user] = rows[k][3]
            let decision = every[k][1] == "1"  // equal to batch, checked above
            if firstFlag[user] == nil { firstFlag[user] = 0 }
            if decision && firstFlag[user] == 0 { firstFlag[user] = Int(every[k][3])! }
            last[user] = decision
        }
        try work.write("truth.csv", "UserId,Fake\n" + label.map { "\($0),\($1)" }.joined(separator: "\n") + "\n")
        #expect(try work.run("fu-watch", ["-m", "model.json", "--truth", "truth.csv", "--summary", "summary.json", "stream.csv", "-o", "/dev/null"]).status == 0)
        let summary = (try JSONSerialization.jsonObject(with: Data(try work.read("summary.json").utf8)) as! [String: Any])["early_detection"] as! [String: Any]
        let fakes = label.filter { $0.value == "1" }.map(\.key), reals = label.filter { $0.value == "0" }.map(\.key)
        #expect(summary["fakes"] as? Int == fakes.count && summary["real_users"] as? Int == reals.count)
        #expect(summary["fakes_caught"] as? Int == fakes.count { firstFlag[$0]! > 0 })
        #expect(summary["real_ever_flagged"] as? Int == reals.count { firstFlag[$0]! > 0 })
        #expect(summary["real_flagged_at_end"] as? Int == reals.count { last[$0]! })
        let within = summary["caught_within"] as! [String: Any]
        for h in [1, 2, 3, 5, 10, 20] where !fakes.isEmpty {
            #expect(within["\(h)"] as? Double == Double(fakes.count { (1...h).contains(firstFlag[$0]!) }) / Double(fakes.count))
        }
        #expect(changes.count > 1)  // the stream does flag someone
        // --min-events holds a decision back until the user has shown that many events.
        let held = csvRows(try work.run("fu-watch", ["-m", "model.json", "--min-events", "3", "--emit", "every", "stream.csv"]).stdout)
        for line in held.dropFirst() where Int(line[3])! < 3 { #expect(line[1] == "0") }
    }

    /// With a stream policy, `--emit changes` does not score a clear user before the
    /// policy's first band (none is flagged there): its lines, and its --summary, are still
    /// exactly the decision changes of `--emit every`.
    @Test func changesAreTheDecisionChangesOfEveryLine() throws {
        let work = try Workdir()
        try trained(work)
        let bundled = "\(Workflow.root.path)/models/fake_user_detector.json"
        #expect(try work.run("fu-fit", ["features.csv", "--policy-events", "events.csv", "--bands", "capacity=0.05,precision=0.9", "-o", "policy.json"]).status == 0)
        #expect(try work.shell("jq '.stream_policy.bands[0].from_events' '\(bundled)'").stdout == "5\n")
        #expect(try work.shell("(echo UserId,Fake; awk -F, 'NR > 1 { print $1 \",\" $4 }' events.csv | sort -u) > truth.csv").status == 0)
        for model in [bundled, "policy.json"] {
            let every = csvRows(try work.run("fu-watch", ["-m", model, "--emit", "every", "--truth", "truth.csv", "--summary", "every.json", "events.csv"]).stdout)
            let banded = every[0].contains("Decision")
            var decided: [String: [String]] = [:], expected = [every[0]]
            for line in every.dropFirst() {
                let decision = banded ? [line[1], line[3]] : [line[1]]
                if decision != decided[line[0], default: banded ? ["0", "allow"] : ["0"]] {
                    decided[line[0]] = decision
                    expected.append(line)
                }
            }
            let changes = try work.run("fu-watch", ["-m", model, "--truth", "truth.csv", "--summary", "changes.json", "events.csv"])
            #expect(csvRows(changes.stdout) == expected && expected.count > 10, "\(model)")
            #expect(try work.read("changes.json") == (try work.read("every.json")))
        }
    }

    /// A line that trickles into a FIFO is answered while the input is still open.
    @Test func answersLeaveBeforeTheInputEnds() throws {
        let work = try Workdir()
        try trained(work)
        let result = try work.shell("""
            mkfifo events.fifo
            fu-watch -m model.json --emit every events.fifo > answers.csv &
            exec 3> events.fifo
            head -2 events.csv >&3
            for _ in $(seq 400); do [ "$(wc -l < answers.csv)" -ge 2 ] && break; sleep 0.05; done
            lines=$(wc -l < answers.csv)
            exec 3>&-; wait
            echo "$lines"
            """)
        #expect(result.stdout == "2\n", "\(result.stderr)")
        #expect(csvRows(try work.read("answers.csv")).count == 2)
    }

    /// fu-watch takes the rows already read in blocks: a bad row fails the run only after
    /// every row before it is counted (and checkpointed), and names its line.
    @Test func rowsBeforeABadRowAreCounted() throws {
        let work = try Workdir()
        try trained(work)
        #expect(try work.shell("awk 'NR == 3002 { print \",click_ad,Phone,0\" } { print }' events.csv > bad.csv").status == 0)
        let result = try work.run("fu-watch", ["-m", "model.json", "--state", "s.json", "--checkpoint-every", "1000", "bad.csv"])
        #expect(result.status == 65)
        #expect(result.stderr == "fu-watch: error: empty UserId (bad.csv:3002)\n", "\(result.stderr)")
        // The 3,000 rows before it, saved at the last checkpoint.
        #expect(try work.shell("jq .events_consumed s.json").stdout == "3000\n")
    }

    /// A refused event type (named like a feature column) leaves no trace: the rows before
    /// it, read in the same block, are answered and checkpointed without it, and the saved
    /// state carries on.
    @Test func aRefusedEventTypeLeavesNoTrace() throws {
        let work = try Workdir()
        try trained(work)
        try work.write("bad.csv", "UserId,Event,Category\nu1,click_ad,Jobs\nu2,total_events,Jobs\n")
        let every = try work.run("fu-watch", ["-m", "model.json", "--emit", "every", "bad.csv"])
        #expect(every.status == 65 && every.stderr.contains("rename that event type") && every.stderr.hasSuffix("(bad.csv:3)\n"), "\(every.stderr)")
        let saved = try work.run("fu-watch", ["-m", "model.json", "--min-events", "2", "--state", "s.json", "--checkpoint-every", "1", "bad.csv"])
        #expect(saved.status == 65, "\(saved.stderr)")
        #expect(try work.shell("jq -c '[.events_consumed, .event_types]' s.json").stdout == "[1,[\"click_ad\"]]\n")
        let resumed = try work.run("fu-watch", ["-m", "model.json", "--state", "s.json", "events.csv", "-o", "/dev/null"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    /// A kill -9 loses only the events since the last checkpoint: replaying from the
    /// recorded offset gives the output of a run never interrupted.
    @Test func aKilledStreamResumesFromItsCheckpoint() throws {
        let work = try Workdir()
        try trained(work)
        let result = try work.shell("""
            total=$(($(wc -l < events.csv) - 1))
            # The stream stays open after its first 3000 events, as a live feed does.
            mkfifo feed
            fu-watch -m model.json --emit final --state state.json --checkpoint-every 1000 < feed > /dev/null &
            watcher=$!
            exec 3> feed
            head -3001 events.csv >&3
            for _ in $(seq 1200); do [ "$(jq -r .events_consumed state.json 2>/dev/null)" = 3000 ] && break; sleep 0.05; done
            kill -KILL "$watcher"; wait "$watcher" 2>/dev/null; exec 3>&-
            consumed=$(jq -r .events_consumed state.json)
            (head -1 events.csv; tail -n +$((consumed + 2)) events.csv) | fu-watch -m model.json --emit final --state state.json > resumed.csv
            fu-watch -m model.json --emit final events.csv > whole.csv
            echo "$consumed $(jq -r .events_consumed state.json) $total"
            cmp resumed.csv whole.csv && echo same
            """)
        let words = result.stdout.split(separator: "\n")
        #expect(words.last == "same", "\(result.stdout) \(result.stderr)")
        let numbers = words.first?.split(separator: " ").map { String($0) } ?? []
        #expect(numbers.count == 3 && numbers[0] == "3000" && numbers[1] == numbers[2])
    }

    /// SIGTERM saves the state at a safe point before the tool stops.
    @Test func aStopSignalSavesTheState() throws {
        let work = try Workdir()
        try trained(work, users: 300)
        let result = try work.shell("""
            mkfifo feed
            fu-watch -m model.json --emit every --state state.json < feed > answers.csv &
            watcher=$!
            exec 3> feed
            cat events.csv >&3
            rows=$(wc -l < events.csv)
            for _ in $(seq 1200); do [ "$(wc -l < answers.csv)" -ge "$rows" ] && break; sleep 0.05; done
            kill -TERM "$watcher"; wait "$watcher"; exec 3>&-
            echo "$(jq -r .events_consumed state.json) $((rows - 1))"
            """)
        let numbers = result.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        #expect(numbers.count == 2 && numbers[0] == numbers[1], "\(result.stdout) \(result.stderr)")
    }

    /// --metrics writes fu-serve's stream series in Prometheus's text format; its
    /// fu_feature_psi equals fu-drift on the same users: the --drift-window most recently
    /// active, their whole histories featurized in batch.
    @Test func theMetricsFileHasTheStreamAndItsDrift() throws {
        let work = try Workdir()
        try trained(work, users: 800)
        let result = try work.run("fu-watch", ["-m", "model.json", "--metrics", "watch.prom", "--drift-window", "200", "-o", "/dev/null", "events.csv"])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try work.read("watch.prom")
        let events = csvRows(try work.read("events.csv")).count - 1
        #expect(text.contains("fu_stream_users 800.0\n") && text.contains("fu_stream_events_total \(events)\n"), "\(text)")
        #expect(text.contains("fu_stream_evictions 0.0\n") && text.contains("# TYPE fu_feature_psi gauge\n"))
        let batch = try work.shell("""
            tail -n +2 events.csv | tac | cut -d, -f1 | awk '!seen[$0]++' | head -n 200 > recent.txt
            awk -F, 'NR == FNR { keep[$1] = 1; next } FNR == 1 || keep[$1]' recent.txt events.csv | fu-featurize | fu-drift -m model.json -o drift.json
            """)
        #expect(batch.status == 0, "\(batch.stderr)")
        let drift = try JSONSerialization.jsonObject(with: Data(try work.read("drift.json").utf8)) as? [String: Any]
        let features = try #require(drift?["features"] as? [[String: Any]])
        var compared = 0
        for feature in features {
            guard let name = feature["feature"] as? String, let psi = feature["psi"] as? Double else { continue }
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("fu_feature_psi{feature=\"\(name)\"} ") })
            let value = try #require(Double(line.split(separator: " ").last!))
            #expect(abs(value - psi) <= 1e-12 * max(1, psi), "\(name): \(value) against fu-drift's \(psi)")
            compared += 1
        }
        #expect(compared > 10)
        // With --drift-window 0, no PSI series.
        let none = try work.run("fu-watch", ["-m", "model.json", "--metrics", "none.prom", "--drift-window", "0", "-o", "/dev/null", "events.csv"])
        let noneText = try work.read("none.prom")
        #expect(none.status == 0 && noneText.contains("fu_stream_users 800.0\n") && !noneText.contains("fu_feature_psi"))
        let bad = try work.run("fu-watch", ["-m", "model.json", "--metrics", "-", "events.csv"])
        #expect(bad.status == 64 && bad.stderr.contains("--metrics needs a file"), "\(bad.stderr)")
        let alone = try work.run("fu-watch", ["-m", "model.json", "--metrics-every", "5", "events.csv"])
        #expect(alone.status == 64 && alone.stderr.contains("--metrics-every needs --metrics FILE"), "\(alone.stderr)")
        // A metrics file that cannot be written stops fu-watch before the stream starts.
        let nowhere = try work.run("fu-watch", ["-m", "model.json", "--metrics", "no/such/folder/w.prom", "events.csv"])
        #expect(nowhere.status != 0 && nowhere.stdout.isEmpty && nowhere.stderr.contains("no/such/folder"), "\(nowhere.stderr)")
        // With --emit final the flagged count is the final rows'.
        let final = try work.run("fu-watch", ["-m", "model.json", "--emit", "final", "--metrics", "final.prom", "events.csv"])
        let flagged = csvRows(final.stdout).dropFirst().count { $0[1] == "1" }
        let finalText = try work.read("final.prom")
        #expect(flagged > 0 && finalText.contains("fu_stream_users_flagged \(flagged).0\n"), "\(finalText)")
    }

    /// Bad state files are errors naming the file; the file is left as it was.
    @Test func aBadStateIsAnErrorNeverAnEmptyStart() throws {
        let work = try Workdir()
        try trained(work, users: 300)
        #expect(try work.run("fu-watch", ["-m", "model.json", "--state", "good.json", "--emit", "final", "events.csv"]).status == 0)
        let good = try work.read("good.json")
        #expect(try work.shell("jq '.model_event_type_columns = [\"click_ad\"]' good.json > other-model.json && jq '.users[1].id = .users[0].id' good.json > twice.json && jq '.users[0].events = [[0, 5]]' good.json > uneven.json && jq '.users[0].pairs = [[99, 0]]' good.json > range.json && jq '.users[0].decision = \"ban\"' good.json > decision.json && jq '.event_types += [\"send_sms_ratio\"]' good.json > clash.json && jq '.users[0].events = [[0, 5000], [0, 1]] | .users[0].categories = [[0, 5001]]' good.json > repeated.json").status == 0)
        try work.write("truncated.json", String(good.prefix(good.count / 2)))
        try work.write("garbage.json", "not a state\n")
        let cases: [(String, String)] = [
            ("truncated.json", "truncated.json"),
            ("garbage.json", "garbage.json"),
            ("other-model.json", "invalid state: it was made with a model whose event vocabulary differs"),
            ("twice.json", "invalid state: a user has no id, or one given twice"),
            ("uneven.json", "has counts that do not add up"),
            ("range.json", "invalid state: a user's 'pairs' holds a bad entry"),
            ("decision.json", "has a 'decision' that is not allow, review or block"),
            ("clash.json", "invalid state: 'event_types': event type 'send_sms_ratio' would be read as the ratio column of event type 'send_sms'"),
            ("repeated.json", "invalid state: a user's 'events' names one twice"),
        ]
        for (file, message) in cases {
            let before = try work.read(file)
            let result = try work.run("fu-watch", ["-m", "model.json", "--state", file, "events.csv"])
            #expect(result.status == 65, "\(file): \(result.stderr)")
            #expect(result.stderr.hasPrefix("fu-watch: error: ") && result.stderr.contains(message) && result.stderr.contains(file), "\(file): \(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(try work.read(file) == before)
        }
    }

    /// The per-user records are made for --max-users slots up front, but never for more
    /// than a quarter of the memory the process may have: a large bound under `ulimit -v`
    /// still runs.
    @Test func aLargeBoundFitsTheMemoryLimit() throws {
        let work = try Workdir()
        let model = "\(Workflow.root.path)/models/fake_user_detector.json", events = "\(Workflow.root.path)/data/events.csv.zst"
        let result = try work.shell("ulimit -v 1000000 && fu-watch -m '\(model)' --max-users 16000000 --emit final '\(events)' | wc -l")
        #expect(result.status == 0 && result.stdout == "5001\n", "\(result.stderr)")
    }

    /// --max-users holds under a stream of new UserIds; the least recently active go first.
    @Test func maxUsersHoldsUnderNewUserIds() throws {
        let work = try Workdir()
        try trained(work, users: 300)
        var stream = "UserId,Event,Category\n"
        for i in 0..<5000 { stream += "R\(i),click_ad,Jobs\n" }
        stream += "R4999,send_sms,Motor\n"
        try work.write("random.csv", stream)
        let result = try work.run("fu-watch", ["-m", "model.json", "--max-users", "100", "--emit", "final", "--state", "s.json", "-v", "random.csv"])
        #expect(result.status == 0, "\(result.stderr)")
        let users = csvRows(result.stdout).dropFirst().map { $0[0] }
        #expect(users.count == 100 && Set(users) == Set((4900..<5000).map { "R\($0)" }))
        #expect(result.stderr.contains("forgot 4900 users (--max-users 100)"))
        #expect(try work.shell("jq '.users | length' s.json").stdout == "100\n")
        // --idle forgets users without an event in the last N events: of the last 10 events,
        // R4991…R4999's (R4999 has two).
        let idle = try work.run("fu-watch", ["-m", "model.json", "--idle", "10", "--emit", "final", "random.csv"])
        // Without -v too: a final table that lacks users says so.
        #expect(idle.stderr == "fu-watch: warning: forgot 4991 users (--max-users 1000000, --idle 10): the final lines lack them\n")
        #expect(csvRows(idle.stdout).dropFirst().map { $0[0] } == (4991..<5000).map { "R\($0)" })
    }

    /// The activity list is made only when an eviction first needs it (`StreamScorer.listed`);
    /// with --idle it is kept from the start. Both must forget the same users and save the
    /// same state: random users coming back, at --max-users and without reaching it.
    @Test(arguments: [40, 1000])
    func theActivityListMadeLateEqualsTheOneKeptAllAlong(maxUsers: Int) throws {
        let work = try Workdir()
        try trained(work, users: 300)
        var state = UInt64(maxUsers)
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % n
        }
        var stream = "UserId,Event,Category\n"
        for _ in 0..<3000 { stream += "R\(next(120)),\(["click_ad", "send_sms", "phone_call"][next(3)]),\(["Jobs", "Motor"][next(2)])\n" }
        try work.write("random.csv", stream)
        func watch(_ extra: [String], state: String) throws -> String {
            let result = try work.run("fu-watch", ["-m", "model.json", "--max-users", "\(maxUsers)", "--emit", "final", "--state", state] + extra + ["random.csv"])
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout
        }
        let late = try watch([], state: "late.json")
        let kept = try watch(["--idle", "1000000"], state: "kept.json")
        #expect(late == kept)
        #expect(csvRows(late).count - 1 == min(maxUsers, 120))
        #expect(try work.read("late.json") == work.read("kept.json"))
    }

    @Test func usageAndModelErrors() throws {
        let work = try Workdir()
        try trained(work, users: 300)
        for (arguments, message) in [
            (["--checkpoint-every", "10"], "--checkpoint-every needs --state FILE"),
            (["--emit", "sometimes"], "--emit must be changes, every or final, not 'sometimes'"),
            (["--max-users", "0"], "--max-users must be at least 1"),
            (["--state", "-"], "--state needs a file: '-' would mix the state into stdout"),
        ] {
            let result = try work.run("fu-watch", ["-m", "model.json"] + arguments + ["events.csv"])
            #expect(result.status == 64 && result.stderr.hasPrefix("fu-watch: error: \(message)"), "\(result.stderr)")
        }
        #expect(try work.shell("awk -F, 'BEGIN{OFS=\",\"} NR==1{print $0,\"account_age_days\"; next} {print $0, NR%9}' features.csv > with-age.csv && fu-fit with-age.csv -o age.json").status == 0)
        let foreign = try work.run("fu-watch", ["-m", "age.json", "events.csv"])
        #expect(foreign.status == 65)
        #expect(foreign.stderr == "fu-watch: error: the model uses feature 'account_age_days', which events do not give: fu-watch scores models trained on fu-featurize's columns\n")
    }
}
