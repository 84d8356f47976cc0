import Foundation
import Testing

/// Issue 9's defects in the filters, each as a careless user or a hostile file met them:
/// every one failed on the code before the fix.
@Suite struct HardToBreak {
    /// A small labelled features table and a model fitted on it.
    func trained(_ work: Workdir) throws {
        #expect(try work.shell("fu-synth --users 300 --seed 4 | fu-featurize > features.csv && fu-fit -i features.csv -o model.json").status == 0)
    }

    /// Defect 2: one event type per user made a table of users × types (1.9 GB for 10,000).
    @Test func distinctEventTypesAndCategoriesAreBounded() throws {
        let work = try Workdir()
        let rows = (1...100).map { "U\($0),ev\($0),Jobs" }.joined(separator: "\n")
        let result = try work.run("fu-featurize", ["-o", "f.csv"], stdin: "UserId,Event,Category\n\(rows)\n")
        #expect(result.status == 65)
        #expect(result.stderr.hasPrefix("fu-featurize: error: more than 64 distinct event types (the limit)"))
        #expect(result.stderr.contains("--events"))
        #expect(result.stderr.hasSuffix("(stdin:66)\n"))
        #expect(!(try work.files()).contains("f.csv"))
        let categories = (1...70).map { "U\($0),click_ad,c\($0)" }.joined(separator: "\n")
        let many = try work.run("fu-featurize", stdin: "UserId,Event,Category\n\(categories)\n")
        #expect(many.status == 65)
        #expect(many.stderr.hasPrefix("fu-featurize: error: more than 64 distinct categories (the limit)"))
        // Named by --events, the 65th type is known before any row: its first row is still
        // past the limit, whether read alone or with the plain rows read in bulk around it.
        let named = (0...64).map { "e\($0)" }.joined(separator: ",")
        let plain = (1...300).map { "User\($0),e\($0 % 3),Jobs" } + ["User301,e64,Jobs"] + (1...300).map { "User\($0),e1,Jobs" }
        let past = try work.run("fu-featurize", ["--events", named, "-o", "g.csv"], stdin: "UserId,Event,Category\n" + plain.joined(separator: "\n") + "\n")
        #expect(past.status == 65)
        #expect(past.stderr.hasPrefix("fu-featurize: error: more than 64 distinct event types (the limit)"))
        #expect(past.stderr.hasSuffix("(stdin:302)\n"))
        #expect(!(try work.files()).contains("g.csv"))
    }

    /// Defect 5: side outputs were renamed into place before the main output failed.
    @Test func aFailedRunLeavesEverySideOutputAsItWas() throws {
        let work = try Workdir()
        try trained(work)
        for name in ["m.json", "test.csv", "truth.csv", "oof.csv"] { try work.write(name, "old \(name)\n") }
        let runs: [(String, [String])] = [
            ("fu-score", ["-m", "model.json", "-i", "features.csv", "--metrics", "m.json", "-o", "/dev/full"]),
            ("fu-fit", ["-i", "features.csv", "--metrics", "m.json", "-o", "/dev/full"]),
            ("fu-cv", ["-i", "features.csv", "--folds", "3", "--oof", "oof.csv", "-o", "/dev/full"]),
            ("fu-split", ["-i", "features.csv", "--test", "test.csv", "--truth", "truth.csv", "--drop-label", "-o", "/dev/full"]),
        ]
        for (tool, arguments) in runs {
            let result = try work.run(tool, arguments)
            #expect(result.status == 74, "\(tool)")
            #expect(result.stderr.contains("\(tool): error: cannot write /dev/full"), "\(tool): \(result.stderr)")
        }
        for name in ["m.json", "test.csv", "truth.csv", "oof.csv"] { #expect(try work.read(name) == "old \(name)\n") }
        #expect(try work.files().filter { $0.contains(".tmp-") } == [])
    }

    /// Defect 6: a model whose features match nothing gave every user the same probability.
    @Test func aModelWhoseFeaturesMatchNothingIsRefused() throws {
        let work = try Workdir()
        try trained(work)
        let model = try work.read("model.json")
        let names = try work.shell("head -1 features.csv | cut -d, -f3- | tr , '\\n'").stdout.split(separator: "\n")
        var renamed = model
        for name in names { renamed = renamed.replacingOccurrences(of: "\"\(name)\"", with: "\"x_\(name)\"") }
        try work.write("wrong.json", renamed)
        try work.write("old.csv", "old\n")
        let result = try work.run("fu-score", ["-m", "wrong.json", "-i", "features.csv", "-o", "old.csv"])
        #expect(result.status == 65)
        #expect(result.stderr.hasPrefix("fu-score: error: the input has none of the model's \(names.count) features ('x_total_events'"))
        #expect(try work.read("old.csv") == "old\n")
    }

    /// Defects 7 and 8: values near the largest double gave `-nan` predictions, and a model
    /// its own loader refused.
    @Test func hugeFiniteValuesNeverMakeNaN() throws {
        let work = try Workdir()
        try trained(work)
        // Scoring: finite values far outside the training range give 0 or 1, never NaN.
        let huge = try work.shell(#"awk -F, -v OFS=, 'NR > 1 { for (i = 3; i <= NF; i++) $i = (NR % 2 ? "-" : "") "1.7e308" } 1' features.csv > huge.csv && echo ok"#)
        #expect(huge.stdout == "ok\n")
        for format in ["csv", "jsonl"] {
            let scored = try work.run("fu-score", ["-m", "model.json", "-i", "huge.csv", "--format", format])
            #expect(scored.status == 0)
            #expect(!scored.stdout.lowercased().contains("nan"))
        }
        let probabilities = try work.shell("fu-score -m model.json -i huge.csv | tail -n +2 | cut -d, -f3 | sort -u").stdout
        #expect(probabilities.split(separator: "\n").allSatisfy { Double($0).map { (0...1).contains($0) } ?? false })
        // Fitting on them: a clear error, and the previous model stays.
        try work.write("kept.json", "previous\n")
        let fit = try work.run("fu-fit", ["-i", "huge.csv", "-o", "kept.json"])
        #expect(fit.status == 65)
        #expect(fit.stderr.contains("has a value beyond ±1e140"))
        #expect(fit.stderr.contains("too large to standardize"))
        #expect(try work.read("kept.json") == "previous\n")
        // Non-finite text in a table is an error naming the line.
        let text = try work.shell("sed '3s/^\\([^,]*,[^,]*\\),[^,]*/\\1,inf/' features.csv | fu-fit").stderr
        #expect(text == "fu-fit: error: feature 'total_events' is not finite: 'inf' (stdin:3)\n")
    }

    /// Defect 10: a long record from a pipe was re-scanned on every 64 KiB read (quadratic);
    /// now buffers grow geometrically and a record past 64 MiB is an error at once.
    @Test func longRecordsAreLinearAndBounded() throws {
        let work = try Workdir()
        // 40 MB in one quoted field through a pipe: read whole, in one pass.
        let long = try work.shell(#"{ echo UserId,Event,Category; printf 'A,click_ad,"'; head -c 40000000 /dev/zero | tr '\0' x; printf '"\n'; } | cat | fu-featurize | wc -l"#)
        #expect(long.stdout.trimmingCharacters(in: .whitespaces) == "2\n")
        // 1 GB of zeros in a 33 KB zstd file: stops at the limit, naming it.
        let bomb = try work.shell("head -c 1000000000 /dev/zero | zstd -q -19 > zeros.zst; fu-featurize -i zeros.zst -o out.csv")
        #expect(bomb.status == 65)
        #expect(bomb.stderr == "fu-featurize: error: a record is longer than 64 MiB (the limit); is this a CSV or JSON Lines file? (zeros.zst:1)\n")
        #expect(!(try work.files()).contains("out.csv"))
    }

    /// Defect 11: a signal left `.NAME.tmp-PID-N` beside the output.
    /// (Started through perl as a terminal would start it: the test runner blocks signals
    /// in its children, and a script's background job ignores SIGINT.)
    @Test func signalsRemoveTemporaryFiles() throws {
        let work = try Workdir()
        for signal in ["INT", "TERM", "HUP"] {
            try work.write("out.csv", "previous\n")
            // Input stays open until `release` exists; the signal comes once the temporary file does.
            let result = try work.shell("""
                rm -f release
                (echo UserId,Event,Category; echo A,click_ad,Jobs; for _ in $(seq 3000); do [ -e release ] && break; sleep 0.01; done) | perl -MPOSIX -e \\
                    '$SIG{INT} = "DEFAULT"; sigprocmask(SIG_SETMASK, POSIX::SigSet->new); exec @ARGV' fu-featurize -o out.csv &
                for _ in $(seq 3000); do ls -a | grep -q '^\\.out\\.csv\\.tmp-' && break; sleep 0.01; done
                ls -a | grep -c '^\\.out\\.csv\\.tmp-'; kill -\(signal) $!; touch release; wait
                ls -a | grep -c '^\\.out\\.csv\\.tmp-'; cat out.csv
                """)
            #expect(result.stdout == "1\n0\nprevious\n", "SIG\(signal)")
        }
    }

    /// Defect 12: a repeated column name passed silently, and fu-fit read the first twice.
    @Test func duplicateColumnNamesAreErrors() throws {
        let work = try Workdir()
        let csv = try work.run("fu-fit", stdin: "UserId,Fake,a,a\nU1,0,1,2\nU2,1,3,4\n")
        #expect(csv.status == 65)
        #expect(csv.stderr == "fu-fit: error: column 'a' appears twice in the header (stdin:1)\n")
        let jsonl = try work.run("fu-featurize", stdin: #"{"UserId":"A","Event":"x","Event":"y","Category":"J"}"# + "\n")
        #expect(jsonl.status == 65)
        #expect(jsonl.stderr == "fu-featurize: error: key 'Event' appears twice in the first object (stdin:1)\n")
        for (event, what) in [("Fake", "label column 'Fake'"), ("total_events", "feature column 'total_events'"), ("UserId", "key column 'UserId'")] {
            let clash = try work.run("fu-featurize", stdin: "UserId,Event,Category,Fake\nA,\(event),Jobs,0\n")
            #expect(clash.status == 65)
            #expect(clash.stderr == "fu-featurize: error: event type '\(event)' is named like the \(what); rename that event type (stdin:2)\n")
        }
    }
}
