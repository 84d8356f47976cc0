import Foundation
import Testing

/// Answers that used to be wrong without a word (issue 16): each is now the right answer
/// or a clear error that names the cause, with its exit code, and leaves outputs as they were.
@Suite struct SilentWrongAnswers {
    /// Runs `tool` with `-o out` beside a previous good `out`; expects the one-line error,
    /// the status and `out` untouched.
    func expectFailure(
        _ work: Workdir, _ tool: String, _ arguments: [String], stdinFile: String? = nil, status: Int32, message: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        try work.write("out", "previous good output\n")
        let result = try work.run(tool, arguments + ["-o", "out"], stdinFile: stdinFile)
        #expect(result.status == status, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr == "\(tool): error: \(message)\n", sourceLocation: sourceLocation)
        #expect(try work.read("out") == "previous good output\n", sourceLocation: sourceLocation)
    }

    func features(_ work: Workdir, users: Int = 600) throws {
        #expect(try work.run("fu-synth", ["--users", "\(users)", "--seed", "3", "-o", "events.csv"]).status == 0)
        #expect(try work.run("fu-featurize", ["events.csv", "-o", "features.csv"]).status == 0)
    }

    /// A column of the user's own that the table to score lacks is an error, not 0; a
    /// per-event-type column the table lacks still reads as 0.
    @Test func aMissingFeatureOfYourOwnIsAnError() throws {
        let work = try Workdir()
        try features(work)
        #expect(try work.shell("awk -F, 'BEGIN{OFS=\",\"} NR==1{print $0,\"account_age_days\"; next} {print $0, NR%50}' features.csv > with-age.csv").status == 0)
        #expect(try work.run("fu-fit", ["with-age.csv", "-o", "model.json"]).status == 0)
        let model = try JSONSerialization.jsonObject(with: Data(try work.read("model.json").utf8)) as! [String: Any]
        #expect(model["event_type_columns"] as? [String] == [
            "click_ad", "click_carrousel", "phone_call", "send_email", "send_sms",
            "click_carrousel_ratio", "phone_call_ratio", "send_sms_ratio",
        ])
        try expectFailure(work, "fu-score", ["-m", "model.json", "features.csv"], status: 65,
                          message: "the input lacks the model's feature 'account_age_days' (features.csv:1)")
        // Without the send_sms columns: they read as 0, exactly as a table of zeros there.
        let header = csvRows(try work.read("with-age.csv"))[0]
        let keep = header.indices.filter { !header[$0].hasPrefix("send_sms") }.map { "\($0 + 1)" }.joined(separator: ",")
        #expect(try work.shell("cut -d, -f\(keep) with-age.csv > no-sms.csv").status == 0)
        let sms = header.indices.filter { header[$0].hasPrefix("send_sms") }.map { $0 + 1 }
        let zeroed = "awk -F, 'BEGIN{OFS=\",\"} NR>1{\(sms.map { "$\($0)=0" }.joined(separator: ";"))} {print}' with-age.csv > zero-sms.csv"
        #expect(try work.shell(zeroed).status == 0)
        let missing = try work.run("fu-score", ["-m", "model.json", "no-sms.csv"])
        let zeros = try work.run("fu-score", ["-m", "model.json", "zero-sms.csv"])
        #expect(missing.status == 0 && zeros.status == 0)
        #expect(missing.stdout == zeros.stdout && csvRows(missing.stdout).count == 601)
    }

    /// A model written before fu recorded its per-type columns takes them from its own
    /// feature names (a count beside its ratio), so a column of the user's own is required.
    @Test func anOlderModelTakesItsPerTypeColumnsFromItsFeatures() throws {
        let work = try Workdir()
        try features(work)
        #expect(try work.shell("awk -F, 'BEGIN{OFS=\",\"} NR==1{print $0,\"account_age_days\"; next} {print $0, NR%50}' features.csv > with-age.csv").status == 0)
        #expect(try work.run("fu-fit", ["with-age.csv", "-o", "model.json"]).status == 0)
        #expect(try work.shell("jq 'del(.event_type_columns)' model.json > old.json").status == 0)
        try expectFailure(work, "fu-score", ["-m", "old.json", "features.csv"], status: 65,
                          message: "the input lacks the model's feature 'account_age_days' (features.csv:1)")
        #expect(try work.run("fu-score", ["-m", "old.json", "with-age.csv"]).stdout == (try work.run("fu-score", ["-m", "model.json", "with-age.csv"])).stdout)
    }

    /// Event types whose columns would pose as another column.
    @Test func anEventTypeCannotPoseAsAColumn() throws {
        let work = try Workdir()
        let cases = [
            ("phone_call_ratio", "event type 'phone_call_ratio' would be read as the ratio column of event type 'phone_call'"),
            ("Fake", "event type 'Fake' is named like the label column 'Fake'"),
            ("userid", "event type 'userid' is named like the key column 'UserId'"),
            ("total_events", "event type 'total_events' is named like the feature column 'total_events'"),
            // Its ratio would be a fixed feature (it was "an event type makes a second column", no name, no line).
            ("click", "event type 'click' would make a ratio column 'click_ratio', named like the feature column 'click_ratio'"),
            ("category_repeat", "event type 'category_repeat' would make a ratio column 'category_repeat_ratio', named like the feature column 'category_repeat_ratio'"),
        ]
        for (type, message) in cases {
            try work.write("events.csv", "UserId,Event,Category\nA,click_ad,Jobs\nA,\(type),Jobs\n")
            try expectFailure(work, "fu-featurize", ["events.csv"], status: 65, message: "\(message); rename that event type (events.csv:3)")
        }
        // fu-partition reads events the same way.
        try work.write("events.csv", "UserId,Event,Category\nA,Fake,Jobs\n")
        let result = try work.run("fu-partition", ["--buckets", "2", "--output-dir", "buckets", "events.csv"])
        #expect(result.status == 65 && result.stderr.contains("event type 'Fake' is named like the label column 'Fake'"))
    }

    /// Column names that differ from fu's only in case, and other likely causes, are named.
    @Test func hintsWhereUsersGoWrong() throws {
        let work = try Workdir()
        try work.write("lower-fake.csv", "UserId,Event,Category,fake\nA,click_ad,Jobs,1\n")
        try expectFailure(work, "fu-featurize", ["lower-fake.csv"], status: 65,
                          message: "found a column 'fake'; the label column is 'Fake' (column names are case-sensitive): rename it (lower-fake.csv:1)")
        try work.write("lower.csv", "userid,event,category\nA,click_ad,Jobs\n")
        try expectFailure(work, "fu-featurize", ["lower.csv"], status: 65,
                          message: "missing required column 'UserId'; found 'userid' (column names are case-sensitive: rename it 'UserId') (lower.csv:1)")
        try work.write("semicolons.csv", "UserId;Event;Category\nA;click_ad;Jobs\n")
        try expectFailure(work, "fu-featurize", ["semicolons.csv"], status: 65,
                          message: "missing required column 'UserId'; the header is one column separated by semicolons: fu reads comma-separated CSV (convert it, e.g. with tr ';' ',', if no field holds a comma) (semicolons.csv:1)")
        try work.write("tabs.csv", "UserId\tEvent\tCategory\nA\tclick_ad\tJobs\n")
        try expectFailure(work, "fu-featurize", ["tabs.csv"], status: 65,
                          message: "missing required column 'UserId'; the header is one column separated by tabs: fu reads comma-separated CSV (convert it, e.g. with tr '\\t' ',', if no field holds a comma) (tabs.csv:1)")
        try work.write("features.csv", "UserId,total_events\nA,3\n")
        try expectFailure(work, "fu-featurize", ["features.csv"], status: 65,
                          message: "missing required column 'Event'; this looks like a features table (from fu-featurize), not events (features.csv:1)")
        try work.write("pandas.csv", "UserId,Event,Category,Fake\nA,click_ad,Jobs,1.0\n")
        try expectFailure(work, "fu-featurize", ["pandas.csv"], status: 65,
                          message: "Fake must be 0 or 1, found '1.0' (a float label, as pandas writes it: save the column as integers, e.g. df.Fake.astype(int)) (pandas.csv:2)")
        // A features table with a lower-case label loses no labels in the learning tools either.
        try work.write("lower-features.csv", "UserId,fake,total_events\nA,1,3\nB,0,4\n")
        try expectFailure(work, "fu-fit", ["lower-features.csv"], status: 65,
                          message: "found a column 'fake'; the label column is 'Fake' (column names are case-sensitive): rename it (lower-features.csv:1)")
        for (compressor, name, decompress) in [("gzip", "gzip", "gunzip"), ("bzip2", "bzip2", "bunzip2"), ("xz", "xz", "unxz")] {
            #expect(try work.shell("printf 'UserId,Event,Category\\nA,click_ad,Jobs\\n' | \(compressor) -c > events.\(compressor)").status == 0)
            try expectFailure(work, "fu-featurize", ["events.\(compressor)"], status: 65,
                              message: "this is \(name) data; fu reads plain or zstd: \(decompress) -c events.\(compressor) | fu-featurize (events.\(compressor))")
        }
    }

    @Test func theLabelIsNeverAFeature() throws {
        let work = try Workdir()
        try features(work)
        try expectFailure(work, "fu-fit", ["--features", "total_events,Fake", "features.csv"], status: 64,
                          message: "'Fake' is the label, not a feature: leave it out of --features")
        try expectFailure(work, "fu-cv", ["--features", "UserId,total_events", "features.csv"], status: 64,
                          message: "'UserId' is the key, not a feature: leave it out of --features")
        try expectFailure(work, "fu-fit", ["--features", "total_events,total_events", "features.csv"], status: 64,
                          message: "feature 'total_events' is named twice; name each feature once")
    }

    /// Huge terms of both signs decide by their size: the README promises 0 or 1.
    @Test func hugeTermsOfBothSignsGiveZeroOrOne() throws {
        let work = try Workdir()
        try work.write("train.csv", "UserId,Fake,a,b\n" + (0..<40).map { "u\($0),\($0 % 4 == 0 ? 1 : 0),\($0 % 4 == 0 ? 5 + $0 % 3 : $0 % 5),\($0 % 7)" }.joined(separator: "\n") + "\n")
        #expect(try work.run("fu-fit", ["train.csv", "-o", "model.json"]).status == 0)
        let model = try JSONSerialization.jsonObject(with: Data(try work.read("model.json").utf8)) as! [String: Any]
        let w = model["coefficients"] as! [Double], scale = (model["scaler"] as! [String: Any])["scale"] as! [Double]
        // Values that make a's and b's terms huge and of opposite signs; the side whose term
        // is larger (by a factor of 100) wins, whatever the small features add.
        let a = 1e300 * (w[0] > 0 ? 1 : -1) * scale[0] / abs(w[0])
        let b = 1e298 * (w[1] > 0 ? -1 : 1) * scale[1] / abs(w[1])
        try work.write("huge.csv", "UserId,a,b\nP,\(a),\(b)\nN,\(a / 1e4),\(b * 1e4)\n")
        let result = try work.run("fu-score", ["-m", "model.json", "huge.csv"])
        #expect(result.status == 0)
        #expect(csvRows(result.stdout).dropFirst().map { $0[2] } == ["1", "0"])
    }
}

/// fu-split's answers that contradicted the README.
@Suite struct SplitContracts {
    func labelled(_ work: Workdir, users: Int) throws {
        #expect(try work.run("fu-synth", ["--users", "\(users)", "--seed", "8", "-o", "events.csv"]).status == 0)
        #expect(try work.run("fu-featurize", ["events.csv", "-o", "features.csv"]).status == 0)
    }

    @Test func aFractionThatLeavesNoTrainingUserIsAUsageError() throws {
        let work = try Workdir()
        try labelled(work, users: 300)
        try work.write("t.csv", "old test\n")
        let result = try work.run("fu-split", ["--test-size", "0.9999", "--test", "t.csv", "features.csv"])
        #expect(result.status == 64)
        #expect(result.stderr == "fu-split: error: --test-size 0.9999 of 300 users leaves none for training: give a smaller fraction\n")
        #expect(try work.read("t.csv") == "old test\n")
    }

    /// With stdout closed early, the test and truth files are still written in full.
    @Test func aClosedStdoutStillWritesTheTestSide() throws {
        let work = try Workdir()
        try labelled(work, users: 4000)  // more train rows than a pipe's buffer holds
        let result = try work.shell("fu-split --test t.csv --truth tr.csv events.csv | head -1 > /dev/null; echo ${PIPESTATUS[0]}")
        #expect(result.stdout == "0\n", "\(result.stderr)")
        let full = try work.run("fu-split", ["--test", "t2.csv", "--truth", "tr2.csv", "events.csv", "-o", "train.csv"])
        #expect(full.status == 0)
        #expect(try work.read("t.csv") == (try work.read("t2.csv")) && (try work.read("tr.csv")) == (try work.read("tr2.csv")))
        #expect(csvRows(try work.read("tr.csv")).count > 100)
    }

    /// A pipe cannot be read twice: it is spooled as stdin is.
    @Test func aNamedPipeInputIsSplitLikeAFile() throws {
        let work = try Workdir()
        try labelled(work, users: 300)
        let piped = try work.shell("fu-split --test t1.csv <(cat features.csv) > train1.csv")
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try work.run("fu-split", ["--test", "t2.csv", "features.csv", "-o", "train2.csv"]).status == 0)
        #expect(try work.read("t1.csv") == (try work.read("t2.csv")) && (try work.read("train1.csv")) == (try work.read("train2.csv")))
    }
}

/// An interrupted tool ends its progress line, so the shell's prompt starts on a new one.
@Suite struct Interrupts {
    @Test func anInterruptedToolEndsItsProgressLine() throws {
        let work = try Workdir()
        // In a pseudo-terminal, wait until the progress line shows, then stop the tool alone
        // (SIGTERM: a background job's SIGINT is ignored; the handler is the same).
        let result = try work.shell("""
            script -qec 'echo $$ > pid; exec fu-synth --users 20000000 --seed 1 > /dev/null' /dev/null < /dev/null | cat > terminal.txt &
            for _ in $(seq 2400); do grep -q 'users made' terminal.txt 2>/dev/null && break; sleep 0.05; done
            kill -TERM "$(cat pid)"; wait
            """)
        #expect(result.status == 0, "\(result.stderr)")
        let terminal = try work.read("terminal.txt")
        #expect(terminal.contains("fu-synth: users made"))
        // After the last redraw, the line is ended (the terminal shows \n as \r\n).
        let tail = terminal.components(separatedBy: "\u{1B}[K").last ?? ""
        #expect(tail == "\r\n", "\(tail.debugDescription)")
    }
}

/// Memory that grew with what a user asked for, without a bound.
@Suite struct BoundedMemory {
    /// 256 buckets at level 19 needed 21 GB: the level is lowered to fit 1 GiB, said on stderr.
    @Test func manyBucketsAtAHighLevelFitTheEncoderBudget() throws {
        let work = try Workdir()
        #expect(try work.run("fu-synth", ["--users", "200", "--seed", "2", "-o", "events.csv"]).status == 0)
        let result = try work.run("fu-partition", ["--buckets", "256", "--zstd-level", "19", "--output-dir", "b", "events.csv"])
        #expect(result.status == 0)
        #expect(result.stderr.hasPrefix("fu-partition: warning: --zstd-level 19 with 256 buckets would need more than 1 GiB of encoders; using level "))
        // Every row is in one bucket, and the buckets decode.
        #expect(try work.shell("zstd -dcq b/*.zst | grep -vc '^UserId,'").stdout == (try work.shell("tail -n +2 events.csv | wc -l").stdout.trimmingCharacters(in: .whitespaces)))
        // A few buckets keep the level asked for.
        let few = try work.run("fu-partition", ["--buckets", "4", "--zstd-level", "19", "--output-dir", "c", "events.csv"])
        #expect(few.status == 0 && few.stderr.isEmpty)
    }
}

/// Options spelled as scikit-learn, liblinear or jq spell them are named with fu's name.
@Suite struct ForeignSpellings {
    @Test func optionsUsersBringAreNamed() throws {
        let work = try Workdir()
        let cases: [(String, [String], String)] = [
            ("fu-fit", ["--C", "0.1"], "-c"),
            ("fu-cv", ["--k", "5"], "--folds"),
            ("fu-cv", ["--n_splits=5"], "--folds"),
            ("fu-score", ["--model-file", "m.json", "x.csv"], "--model"),
            ("fu-split", ["--random_state", "3", "--test", "t.csv"], "--seed"),
        ]
        for (tool, arguments, ours) in cases {
            let result = try work.run(tool, arguments)
            let option = arguments[0].split(separator: "=")[0]
            #expect(result.status == 64)
            #expect(result.stderr == "\(tool): error: unknown option '\(option)': \(tool)'s name for it is '\(ours)'; see '\(tool) --help'\n")
        }
        // A tool without fu's option keeps argument parser's own message.
        let synth = try work.run("fu-synth", ["--k", "5"])
        #expect(synth.status == 64 && !synth.stderr.contains("name for it"))
    }
}

/// A model fitted on the reference features (the original pandas table: per-type counts
/// without ratios) still reads a missing count of a real event type as 0.
@Test func referenceCountsAreEventTypeColumns() throws {
    let work = try Workdir()
    let features = try work.fixture("features.csv")
    #expect(try work.run("fu-fit", [features, "-o", "model.json"]).status == 0)
    let model = try JSONSerialization.jsonObject(with: Data(try work.read("model.json").utf8)) as! [String: Any]
    #expect(model["event_type_columns"] as? [String] == ["click_ad", "click_carrousel", "phone_call", "send_email", "send_sms"])
    #expect(try work.shell("cut -d, -f1-10 '\(features)' > no-sms.csv").status == 0)
    let scored = try work.run("fu-score", ["-m", "model.json", "no-sms.csv"])
    let rows = csvRows(try work.read("features.csv")).count
    #expect(scored.status == 0 && csvRows(scored.stdout).count == rows)
}
