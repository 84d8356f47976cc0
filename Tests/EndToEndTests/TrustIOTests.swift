import Foundation
import Testing

/// Issue 16: outputs, logs and limits a hostile file or a careless path could subvert. Each
/// test failed on the code before its fix.
@Suite struct TrustIO {
    /// A labelled features table, a model, held-out users and the model's predictions of them.
    func trained(_ work: Workdir) throws {
        #expect(try work.shell("""
            fu-synth --users 400 --seed 5 | fu-featurize > features.csv && fu-split --test test.csv features.csv > train.csv \
            && fu-fit train.csv -o model.json && fu-score -m model.json test.csv > pred.csv
            """).status == 0)
    }

    func isSymlink(_ work: Workdir, _ name: String, to target: String) -> Bool {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: work.path(name))) == target
    }

    /// Repro 02: an output that is a symlink was replaced by a regular file.
    @Test func outputSymlinksAreWrittenThrough() throws {
        let work = try Workdir()
        try trained(work)
        // /dev/stdout's own kind of link: the metrics go where stdout goes.
        #expect(try work.shell("ln -s /proc/self/fd/1 out.json && fu-score -m model.json --metrics out.json test.csv > both.txt").status == 0)
        #expect(isSymlink(work, "out.json", to: "/proc/self/fd/1"))
        let both = try work.read("both.txt")
        #expect(both.contains("UserId,Fake,Probability\n") && both.contains("\"confusion_matrix\""))
        // Links to files, relative and through folders, for each kind of output option.
        #expect(try work.shell("""
            mkdir real && for f in train test truth oof cv report; do echo old > real/$f; ln -s real/$f $f.link; done
            fu-split --test test.link --truth truth.link --drop-label -o train.link features.csv \
            && fu-cv --folds 3 --oof oof.link -o cv.link features.csv \
            && fu-report -m model.json --predictions pred.csv --truth test.csv -o report.link
            """).status == 0)
        for name in ["train", "test", "truth", "oof", "cv", "report"] {
            #expect(isSymlink(work, "\(name).link", to: "real/\(name)"), "\(name)")
            #expect(try work.read("real/\(name)") != "old\n", "\(name)")
        }
        #expect(try work.read("real/test").hasPrefix("UserId,"))
        #expect(try work.read("real/report").hasPrefix("<!DOCTYPE html>"))
        #expect(try work.shell("ls -A real | grep -c tmp").stdout == "0\n")
    }

    /// Repro 13: a value with a newline and ESC[2J, quoted in an error, forged a log line.
    @Test func quotedDataCannotForgeLogLines() throws {
        let work = try Workdir()
        try work.write("inject.csv", "UserId,Event,Category,Fake\na,click_ad,Jobs,\"1\n2026-01-01T00:00:00Z fu-featurize[1]: notice: FORGED line\u{1B}[2J\"\n")
        try work.write("f.csv", "old\n")
        let result = try work.run("fu-featurize", ["--log-dir", "logs", "inject.csv", "-o", "f.csv"])
        #expect(result.status == 65)
        #expect(result.stderr == #"fu-featurize: error: Fake must be 0 or 1, found '1\n2026-01-01T00:00:00Z fu-featurize[1]: notice: FORGED line\u{1B}[2J' (inject.csv:2)"# + "\n")
        let log = try work.read("logs/error.log")
        #expect(log.split(separator: "\n").count == 1)
        #expect(log.hasSuffix(#"FORGED line\u{1B}[2J' (inject.csv:2)"# + "\n"))
        #expect(try work.read("f.csv") == "old\n")
    }

    /// Repro 14: a number such as 0.007951e3097 is infinity; the report drew ∞.
    @Test func reportRefusesNumbersThatAreNotFinite() throws {
        let work = try Workdir()
        try trained(work)
        #expect(try work.shell("""
            fu-cv --folds 3 features.csv > cv.json && fu-score -m model.json --metrics m.json test.csv > /dev/null \
            && sed '0,/"roc_auc": [0-9.e-]*/s//"roc_auc": 0.007951e3097/' cv.json > cv-inf.json \
            && sed 's/"threshold": \\([0-9.e-]*\\)/"threshold": \\1, "extra": [1, -1e400]/' m.json > m-inf.json \
            && sed '0,/"intercept": [0-9.e-]*/s//&, "note": 2e308/' model.json > model-inf.json && echo old > r.html
            """).status == 0)
        let base = ["--predictions", "pred.csv", "--truth", "test.csv", "-o", "r.html"]
        let cases: [([String], String)] = [
            (["-m", "model.json", "--cv", "cv-inf.json"], "the cross-validation output has a number that is not finite at 'per_fold[0].roc_auc' (cv-inf.json)"),
            (["-m", "model.json", "--metrics", "m-inf.json"], "the metrics file has a number that is not finite at 'extra[1]' (m-inf.json)"),
            (["-m", "model-inf.json"], "the model has a number that is not finite at 'note' (model-inf.json)"),
        ]
        for (arguments, message) in cases {
            let result = try work.run("fu-report", arguments + base)
            #expect(result.status == 65, "\(arguments)")
            #expect(result.stderr == "fu-report: error: \(message)\n")
        }
        #expect(try work.read("r.html") == "old\n")
        #expect(try work.run("fu-report", ["-m", "model.json", "--cv", "cv.json", "--metrics", "m.json"] + base).status == 0)
    }

    /// Repros 10, 11 and 08: endless inputs and impossible sizes end at once with a clear
    /// error, the previous outputs and $TMPDIR as they were.
    @Test func endlessInputsAndHugeSizesFailFast() throws {
        let work = try Workdir()
        try trained(work)
        try work.write("old.csv", "old\n")
        #expect(try work.shell("mkdir tmp").status == 0)
        let split = try work.shell("TMPDIR=tmp fu-split --test old.csv -o old.csv < /dev/zero", deadline: 60)
        #expect(split.status == 65)
        #expect(split.stderr == "fu-split: error: a record is longer than 64 MiB (the limit); is this a CSV or JSON Lines file? (stdin:1)\n")
        // A file that is not a regular one is copied too, and named as given (it said stdin).
        let device = try work.shell("TMPDIR=tmp fu-split --test old.csv -o old.csv /dev/zero", deadline: 60)
        #expect(device.stderr == "fu-split: error: a record is longer than 64 MiB (the limit); is this a CSV or JSON Lines file? (/dev/zero:1)\n")
        #expect(try work.files().contains("tmp") && FileManager.default.contentsOfDirectory(atPath: work.path("tmp")) == [])
        let score = try work.shell("fu-score -m /dev/zero test.csv -o old.csv", deadline: 60)
        #expect(score.status == 65)
        #expect(score.stderr == "fu-score: error: the model file is larger than 64 MiB (the limit) (/dev/zero)\n")
        let report = try work.shell("fu-report -m /dev/urandom --predictions pred.csv --truth test.csv -o old.csv", deadline: 60)
        #expect(report.status == 65)
        #expect(report.stderr == "fu-report: error: the model file is larger than 64 MiB (the limit) (/dev/urandom)\n")
        let serve = try work.shell("fu-serve -m /dev/zero --port 0", deadline: 60)
        #expect(serve.status == 65)
        #expect(serve.stderr.contains("fu-serve: error: the model file is larger than 64 MiB (the limit) (/dev/zero)"))
        for users in ["500000000000", "20000000"] {
            // ulimit -v: what this process may allocate, whatever the machine has.
            let synth = try work.shell("ulimit -v 4000000; fu-synth --users \(users) -o x.csv.zst")
            #expect(synth.status == 64, "\(users)")
            #expect(synth.stderr.hasPrefix("fu-synth: error: --users \(users) needs about "), "\(synth.stderr)")
            #expect(synth.stderr.contains("GiB of memory, more than the 3 GiB this process may use (at most 16,000,000 users)"))
        }
        #expect(try work.read("old.csv") == "old\n")
        #expect(try work.files().filter { $0.contains("tmp-") || $0.hasPrefix("x.csv") } == [])
    }

    /// Repro 09: a 63 MiB record of commas cost 2.2 GB; now a stated field limit.
    @Test func aRecordOfCommasIsRefusedWithoutTheMemory() throws {
        let work = try Workdir()
        #expect(try work.shell(#"python3 -c "import sys; sys.stdout.buffer.write(b'UserId,Event,Category\n' + b','*(63<<20)+b'\n')" > commas.csv && echo old > f.csv"#).status == 0)
        let result = try work.shell("/usr/bin/time -f 'rss %M' fu-featurize commas.csv -o f.csv")
        #expect(result.status == 65)
        #expect(result.stderr.hasPrefix("fu-featurize: error: a record has more than 4096 fields (the limit) (commas.csv:2)\n"))
        let kilobytes = Int(result.stderr.split(separator: "\n").last?.split(separator: " ").last ?? "") ?? .max
        #expect(kilobytes < 400_000, "max RSS \(kilobytes) kB")
        #expect(try work.read("f.csv") == "old\n")
        // The server answers 413 (a limit), not 400.
        _ = try work.shell("cp \(try work.fixtureFromRepository("models/fake_user_detector.json")) model.json")
        let server = try ServeEndToEnd.Server(work, ["-m", "model.json"])
        let answer = try work.shell(#"python3 -c "import sys; sys.stdout.buffer.write(b'UserId,Event,Category\n' + b','*5000+b'\n')" | curl -s -w ' %{http_code}' --data-binary @- -H 'Content-Type: text/csv' http://127.0.0.1:\#(server.port)/predict"#)
        #expect(answer.stdout.hasSuffix(" 413"), "\(answer.stdout)")
        #expect(answer.stdout.contains("a record has more than 4096 fields (the limit)"))
    }

    /// fu-merge and fu-partition on a terminal with no input waited forever.
    @Test func shuffleToolsOnATerminalGiveTheHint() throws {
        let work = try Workdir()
        for tool in ["fu-merge", "fu-merge -", "fu-partition --buckets 2 --output-dir b"] {
            let name = String(tool.split(separator: " ")[0])
            let result = try work.shell("script -qec '\(tool)' /dev/null", deadline: 60)
            #expect(result.status == 64, "\(tool)")
            #expect(result.stdout.hasPrefix("\(name): error: no input: name a file (\(name) FILE) or pipe one in"), "\(tool): \(result.stdout)")
        }
        #expect(try work.files() == [])
    }
}
