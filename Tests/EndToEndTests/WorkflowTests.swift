import Foundation
import Testing

/// workflows/train.sh and predict.sh, run with the built tools on small data.
@Suite(.serialized) struct Workflow {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// train.sh with the built tools, out/ for its outputs; `before` runs first in the same shell.
    func train(_ work: Workdir, _ arguments: String, before: String = "true") throws -> Workdir.Result {
        try work.shell("\(before); FU_BIN='\(Workdir.binaries.path)' bash '\(Workflow.root.path)/workflows/train.sh' --model-output out/model.json --metrics-output out/metrics.json \(arguments) \"$@\"")
    }

    /// stage → "ran" or "cached", from the summary table.
    func statuses(_ result: Workdir.Result) -> [String: String] {
        var table: [String: String] = [:]
        for line in result.stderr.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count == 4, words[1] == "ran" || words[1] == "cached" { table[String(words[0])] = String(words[1]) }
        }
        return table
    }

    func events(_ work: Workdir, users: Int = 1500) throws {
        #expect(try work.run("fu-synth", ["--users", "\(users)", "--seed", "4", "-o", "events.csv"]).status == 0)
    }

    @Test func fullRunThenFullyCached() throws {
        let work = try Workdir()
        try events(work)
        let first = try train(work, "--input events.csv --test-events-output out/test_events.csv")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(Set(statuses(first).values) == ["ran"])
        #expect(Set(statuses(first).keys) == ["featurize", "split", "test-events", "cv", "fit", "score", "early-detection", "report"])
        let metrics = try JSONSerialization.jsonObject(with: Data(try work.read("out/metrics.json").utf8)) as! [String: Any]
        let cv = metrics["cross_validation"] as! [String: Any]
        #expect((cv["f1_scores"] as! [Double]).count == 5)
        #expect(cv["mean_f1"] is Double && cv["std_f1"] is Double)
        #expect(metrics["train_metrics"] is [String: Any] && metrics["test_metrics"] is [String: Any])
        // The test users' events replayed with the model's stream policy and with its threshold alone.
        let early = try #require(metrics["early_detection"] as? [String: Any])
        let plain = try #require(metrics["early_detection_without_policy"] as? [String: Any])
        let policy = try #require((try JSONSerialization.jsonObject(with: Data(try work.read("out/model.json").utf8)) as? [String: Any])?["stream_policy"] as? [String: Any])
        #expect((early["policy"] as? [String: Any])?["bands"] as? NSArray == policy["bands"] as? NSArray)
        #expect((plain["policy"] as? [String: Any])?["min_events"] as? Int == 1)
        #expect(early["real_users"] as? Int == plain["real_users"] as? Int && (early["real_users"] as? Int ?? 0) > 0)
        #expect((metrics["parameters"] as? [String: Any])?["policy_bound"] as? String == "batch")
        #expect(try work.files().contains("logs"))
        let model = try work.read("out/model.json")
        let metricsText = try work.read("out/metrics.json")
        // The report and its curves beside the model, and a summary for people.
        #expect(try work.shell("ls out/curves").stdout == "calibration.csv\npr.csv\nroc.csv\nthreshold.csv\n")
        let report = try work.read("out/report.html")
        #expect(report.contains("data-src=\"test\" data-key=\"roc_auc\""))
        for line in ["train.sh: cross-validation F1 ", "train.sh: test: precision ", "train.sh: confusion matrix: TN ",
                     "train.sh: stream (test events replayed with the model's policy): ", "train.sh: report: out/report.html"] {
            #expect(first.stderr.contains(line), "no '\(line)' in the summary")
        }

        let second = try train(work, "--input events.csv --test-events-output out/test_events.csv")
        #expect(second.status == 0)
        #expect(Set(statuses(second).values) == ["cached"])
        #expect(try work.read("out/model.json") == model)
        #expect(try work.read("out/metrics.json") == metricsText)
        #expect(try work.read("out/report.html") == report)

        // predict.sh on the held-out events agrees with the test metrics.
        let predicted = try work.shell("FU_BIN='\(Workdir.binaries.path)' bash '\(Workflow.root.path)/workflows/predict.sh' --model out/model.json --data out/test_events.csv --output predictions.csv")
        #expect(predicted.status == 0, "\(predicted.stderr)")
        let predictions = Dictionary(uniqueKeysWithValues: csvRows(try work.read("predictions.csv")).dropFirst().map { ($0[0], $0[1]) })
        let truth = csvRows(try work.read("out/test_events.truth.csv")).dropFirst()
        var confusion = [[0, 0], [0, 0]]
        for row in truth { confusion[Int(row[1])!][Int(predictions[row[0]]!)!] += 1 }
        #expect(confusion == (metrics["test_metrics"] as! [String: Any])["confusion_matrix"] as! [[Int]])
    }

    @Test func changingAParameterRerunsThatStageOnly() throws {
        let work = try Workdir()
        try events(work)
        #expect(try train(work, "--input events.csv").status == 0)
        let changed = try train(work, "--input events.csv --cv-folds 4")
        #expect(changed.status == 0)
        // The folds choose the stream policy: fit and what follows rerun (the report shows the
        // cross-validation too).
        #expect(statuses(changed) == ["featurize": "cached", "split": "cached", "test-events": "cached", "cv": "ran", "fit": "ran", "score": "ran",
                                      "early-detection": "ran", "report": "ran"])
        let forced = try train(work, "--input events.csv --cv-folds 4 --from fit")
        #expect(statuses(forced) == ["featurize": "cached", "split": "cached", "test-events": "cached", "cv": "cached", "fit": "ran", "score": "ran",
                                     "early-detection": "ran", "report": "ran"])
    }

    /// --calibrate sigmoid reaches fu-fit (with the folds and seed), the metrics file's
    /// parameters and the report; changing it reruns fit and what follows only.
    @Test func calibrateSigmoidIsPassedOnAndShown() throws {
        let work = try Workdir()
        try events(work)
        #expect(try train(work, "--input events.csv").status == 0)
        let calibrated = try train(work, "--input events.csv --calibrate sigmoid")
        #expect(calibrated.status == 0, "\(calibrated.stderr)")
        #expect(statuses(calibrated) == ["featurize": "cached", "split": "cached", "test-events": "cached", "cv": "cached", "fit": "ran", "score": "ran",
                                         "early-detection": "ran", "report": "ran"])
        let model = try ReportEndToEnd.json(work, "out/model.json")
        #expect(model["calibration"]?["method"]?.stringValue == "sigmoid")
        #expect(model["training"]?["folds"]?.intValue == 5 && model["training"]?["seed"]?.intValue == 42)
        let metrics = try ReportEndToEnd.json(work, "out/metrics.json")
        #expect(metrics["parameters"]?["calibrate"]?.stringValue == "sigmoid")
        #expect(try work.read("out/report.html").contains("test, before calibration"))
        let bad = try train(work, "--input events.csv --calibrate isotonic")
        #expect(bad.status == 1 && bad.stderr.contains("--calibrate needs none or sigmoid, not 'isotonic'"))
        #expect(try work.read("out/model.json").contains("\"calibration\""))  // the last model stays
    }

    @Test func changingOneInputByteRerunsEverything() throws {
        let work = try Workdir()
        try events(work)
        #expect(try train(work, "--input events.csv").status == 0)
        var text = try work.read("events.csv")
        let index = text.index(text.startIndex, offsetBy: 40)
        let replacement: Character = text[index] == "A" ? "B" : "A"
        text.replaceSubrange(index...index, with: String(replacement))
        try work.write("events.csv", text)
        let rerun = try train(work, "--input events.csv")
        #expect(rerun.status == 0)
        #expect(Set(statuses(rerun).values) == ["ran"])
    }

    @Test func shardsEqualOneProcess() throws {
        let work = try Workdir()
        try events(work)
        #expect(try train(work, "--input events.csv").status == 0)
        let model = try work.read("out/model.json")
        let metrics = try work.read("out/metrics.json")
        let sharded = try train(work, "--input events.csv --shards 3")
        #expect(sharded.status == 0)
        #expect(statuses(sharded)["featurize-shard-2-of-3"] == "ran" && statuses(sharded)["featurize-merge"] == "ran")
        #expect(statuses(sharded)["split"] == "cached")  // the merged features are byte-identical
        #expect(try work.read("out/model.json") == model)
        #expect(try work.read("out/metrics.json") == metrics)
    }

    /// Past about 2 MB of features (12,000 users) fu's libzstd and the zstd tool compress
    /// the same rows to other bytes; both paths use fu's, so split must still be a cache hit.
    @Test func shardsAreACacheHitDownstreamOnABiggerTable() throws {
        let work = try Workdir()
        try events(work, users: 12000)
        #expect(try train(work, "--input events.csv").status == 0)
        let model = try work.read("out/model.json")
        let metrics = try work.read("out/metrics.json")
        let sharded = try train(work, "--input events.csv --shards 2")
        #expect(sharded.status == 0, "\(sharded.stderr)")
        #expect(statuses(sharded) == ["featurize-partition": "ran", "featurize-shard-0-of-2": "ran", "featurize-shard-1-of-2": "ran",
                                      "featurize-merge": "ran", "split": "cached", "test-events": "cached", "cv": "cached", "fit": "cached",
                                      "score": "cached", "early-detection": "cached", "report": "cached"])
        #expect(try work.shell("cmp .fu-cache/featurize/*/features.csv.zst .fu-cache/featurize-merge/*/features.csv.zst").status == 0)
        #expect(try work.read("out/model.json") == model)
        #expect(try work.read("out/metrics.json") == metrics)
    }

    /// The shard path is fu-partition → fu-featurize × N → fu-merge: no zstd or sort tool.
    @Test func shardsNeedNeitherTheZstdToolNorSort() throws {
        let work = try Workdir()
        try events(work, users: 800)
        let shims = try work.shell("mkdir shims && for t in zstd sort; do printf '#!/bin/sh\\necho \"$t was run\" >&2\\nexit 1\\n' > shims/$t; chmod +x shims/$t; done")
        #expect(shims.status == 0)
        let sharded = try work.shell("PATH=\"$PWD/shims:$PATH\" FU_BIN='\(Workdir.binaries.path)' bash '\(Workflow.root.path)/workflows/train.sh' --model-output out/model.json --metrics-output out/metrics.json --input events.csv --shards 4")
        #expect(sharded.status == 0, "\(sharded.stderr)")
        #expect(!sharded.stderr.contains("was run"))
        #expect(statuses(sharded)["featurize-shard-3-of-4"] == "ran")
        let single = try train(work, "--input events.csv --from split")
        #expect(single.status == 0)
        #expect(statuses(single)["featurize"] == "ran")
        #expect(try work.shell("cmp .fu-cache/featurize/*/features.csv.zst .fu-cache/featurize-merge/*/features.csv.zst").status == 0)
    }

    @Test func twoRunsAtOnceShareTheCacheSafely() throws {
        let work = try Workdir()
        try events(work)
        let script = "FU_BIN='\(Workdir.binaries.path)' bash '\(Workflow.root.path)/workflows/train.sh' --input events.csv"
        let both = try work.shell("""
            \(script) --model-output a/model.json --metrics-output a/metrics.json 2> a.log & first=$!
            \(script) --model-output b/model.json --metrics-output b/metrics.json 2> b.log & second=$!
            wait $first && wait $second
            """)
        #expect(both.status == 0, "\(both.stderr)")
        #expect(try work.read("a/model.json") == work.read("b/model.json"))
        #expect(try work.read("a/metrics.json") == work.read("b/metrics.json"))
        let leftovers = try work.shell("find .fu-cache -name '.tmp-*'")
        #expect(leftovers.stdout.isEmpty)
        let again = try train(work, "--input events.csv")
        #expect(Set(statuses(again).values) == ["cached"])
    }

    @Test func aFailingStageLeavesNoCacheEntry() throws {
        let work = try Workdir()
        try work.write("bad.csv", "UserId,Event,Category,Fake\nA,click_ad\n")
        let result = try train(work, "--input bad.csv")
        #expect(result.status != 0)
        #expect(result.stderr.contains("fu-featurize: error: expected 4 fields, found 2 (bad.csv:2)"))
        #expect(result.stderr.contains("train.sh: error: stage 'featurize' failed"))
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: work.path(".fu-cache/featurize"))) ?? []
        #expect(entries.isEmpty)
        #expect(!(try work.files()).contains("out"))
    }

    /// A cached file of a stage, damaged: emptied, cut in half, or (the manifest) removed.
    struct CacheDamage: Sendable, CustomStringConvertible {
        var stage: String
        var file: String
        var how: String
        var description: String { "\(stage)/\(file) \(how)" }
        var command: String {
            switch how {
            case "emptied": return "truncate -s 0 \"$f\""
            case "halved": return "truncate -s $(($(stat -c %s \"$f\") / 2)) \"$f\""
            default: return "rm \"$f\""
            }
        }
    }

    @Test(arguments: [
        CacheDamage(stage: "cv", file: "cv.json", how: "emptied"),
        CacheDamage(stage: "cv", file: "cv.json", how: "halved"),
        CacheDamage(stage: "split", file: "train.csv.zst", how: "halved"),
        CacheDamage(stage: "fit", file: ".sha256", how: "removed"),  // as an entry made before manifests
    ])
    func aDamagedCacheEntryIsRebuiltWithAWarning(_ damage: CacheDamage) throws {
        let work = try Workdir()
        try events(work)
        let arguments = "--input events.csv --test-events-output out/test_events.csv"
        #expect(try train(work, arguments).status == 0)
        let names = ["model.json", "metrics.json", "test_events.csv", "test_events.truth.csv", "report.html", "curves/roc.csv"]
        let outputs = try names.map { try work.read("out/\($0)") }
        let damaged = try work.shell("f=$(echo .fu-cache/\(damage.stage)/*/\(damage.file)) && \(damage.command)")
        #expect(damaged.status == 0, "\(damaged.stderr)")

        let rerun = try train(work, arguments)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stderr.contains("train.sh: warning: stage '\(damage.stage)': damaged cache entry .fu-cache/\(damage.stage)/"))
        #expect(rerun.stderr.contains("rebuilding it"))
        var expected = Dictionary(uniqueKeysWithValues: ["featurize", "split", "test-events", "cv", "fit", "score", "early-detection", "report"].map { ($0, "cached") })
        expected[damage.stage] = "ran"
        #expect(statuses(rerun) == expected)
        #expect(try names.map { try work.read("out/\($0)") } == outputs)

        let third = try train(work, arguments)
        #expect(Set(statuses(third).values) == ["cached"])
        #expect(!third.stderr.contains("warning"))
    }

    @Test func aFailureBeforePublishingLeavesEveryOldOutput() throws {
        let work = try Workdir()
        try events(work)
        #expect(try train(work, "--input events.csv --test-events-output out/test_events.csv").status == 0)
        let names = ["curves", "metrics.json", "model.json", "report.html", "test_events.csv", "test_events.truth.csv"]
        let files = ["metrics.json", "model.json", "report.html", "test_events.csv", "test_events.truth.csv", "curves/roc.csv", "curves/pr.csv"]
        let outputs = try files.map { try work.read("out/\($0)") }
        // Other parameters (a new model and metrics), and test events that cannot be written.
        try work.write("blocker", "a file where a folder is needed\n")
        let failed = try train(work, "--input events.csv --cv-folds 4 --threshold 0.4 --test-events-output blocker/test_events.csv")
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("train.sh: error: cannot write 'blocker/test_events.csv' (no output was changed)"))
        #expect(try files.map { try work.read("out/\($0)") } == outputs)
        #expect(try work.shell("ls -A out").stdout == names.joined(separator: "\n") + "\n")  // no temporaries left
        #expect(try work.shell("ls -A out/curves").stdout == "calibration.csv\npr.csv\nroc.csv\nthreshold.csv\n")
    }

    @Test func helpAndBadOptions() throws {
        let work = try Workdir()
        for script in ["train.sh", "predict.sh"] {
            let help = try work.shell("bash '\(Workflow.root.path)/workflows/\(script)' --help")
            #expect(help.status == 0 && help.stdout.hasPrefix("Usage: workflows/\(script)"))
            let bad = try work.shell("bash '\(Workflow.root.path)/workflows/\(script)' --bogus")
            #expect(bad.status == 64 && bad.stderr == "\(script): error: unknown option: --bogus; '\(script) --help' lists the options\n")
        }
        // One line, exit 64, the closest option named before the hint (issue 21).
        let typo = try work.shell("bash '\(Workflow.root.path)/workflows/train.sh' --model-ouput x.json")
        #expect(typo.status == 64)
        #expect(typo.stderr == "train.sh: error: unknown option: --model-ouput (did you mean --model-output?); 'train.sh --help' lists the options\n")
        let cache = try work.shell("bash '\(Workflow.root.path)/workflows/cache.sh' list --cache-dri x")
        #expect(cache.status == 64 && cache.stderr.contains("(did you mean --cache-dir?)"))
        let help = try work.shell("bash '\(Workflow.root.path)/workflows/cache.sh' --help")
        #expect(help.status == 0 && help.stderr.isEmpty && help.stdout.hasPrefix("Usage: workflows/cache.sh"))
    }

    @Test func bundledModelsAreCurrent() throws {
        let work = try Workdir()
        let result = try work.shell("unset SOURCE_DATE_EPOCH; FU_BIN='\(Workdir.binaries.path)' bash '\(Workflow.root.path)/workflows/train.sh' --model-output model.json --metrics-output metrics.json")
        #expect(result.status == 0, "\(result.stderr)")
        let committed = Workflow.root.appendingPathComponent("models")
        #expect(try work.read("model.json") == String(contentsOf: committed.appendingPathComponent("fake_user_detector.json"), encoding: .utf8),
                "models/ is stale: rerun workflows/train.sh and commit models/")
        #expect(try work.read("metrics.json") == String(contentsOf: committed.appendingPathComponent("training_metrics.json"), encoding: .utf8))
        // The report has no date (SOURCE_DATE_EPOCH is not set here), so it is current too.
        for name in ["report.html", "curves/roc.csv", "curves/pr.csv", "curves/calibration.csv", "curves/threshold.csv"] {
            #expect(try work.read(name) == String(contentsOf: committed.appendingPathComponent(name), encoding: .utf8), "models/\(name) is stale")
        }
    }

    @Test func scriptsAreShellcheckClean() throws {
        let work = try Workdir()
        let root = Workflow.root.path
        let result = try work.shell("cd '\(root)' && shellcheck workflows/*.sh workflows/metaflow/*.sh scripts/*.sh bench/*.sh .ci/run")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    /// workflows/cache.sh: list says what made each entry; gc removes the ones not used for
    /// N days, which then run again while the rest stay cached.
    @Test func cacheListAndGarbageCollection() throws {
        let work = try Workdir()
        try events(work, users: 600)
        #expect(try train(work, "--input events.csv").status == 0)
        let cache = "bash '\(Workflow.root.path)/workflows/cache.sh'"
        let list = try work.shell("\(cache) list")
        #expect(list.status == 0)
        let lines = list.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("stage") == true)
        #expect(Set(lines.dropFirst().map { String($0.split(separator: " ")[0]) }) == ["featurize", "split", "test-events", "cv", "fit", "score", "early-detection", "report"])
        #expect(lines.contains { $0.hasPrefix("cv ") && $0.contains("--folds 5") && $0.contains("train.csv") })
        #expect(lines.contains { $0.hasPrefix("featurize ") && $0.contains("<- events.csv@") })
        // Short lines without cache paths or temporary names (issue 21).
        #expect(lines.contains { $0.hasPrefix("cv ") && $0.contains("<- split/train.csv.zst@") })
        #expect(lines.contains { $0.hasPrefix("report ") && $0.contains(".json (draft)@") })
        #expect(lines.allSatisfy { $0.count <= 300 && !$0.contains(".tmp-") && $0.firstMatch(of: #/[0-9a-f]{40}/#) == nil }, "\(list.stdout)")
        // The cv entry was last used 40 days ago.
        #expect(try work.shell("touch -d '40 days ago' .fu-cache/cv/*").status == 0)
        let dry = try work.shell("\(cache) gc --keep-days 30 --dry-run")
        #expect(dry.stdout.hasPrefix("cache.sh: would remove .fu-cache/cv/"))
        #expect(dry.stderr.hasPrefix("cache.sh: would remove 1 entries"))
        let gc = try work.shell("\(cache) gc --keep-days 30")
        #expect(gc.stderr.hasPrefix("cache.sh: removed 1 entries"))
        #expect(!(try work.shell("\(cache) list").stdout.contains("\ncv ")))
        let rerun = try train(work, "--input events.csv")
        #expect(statuses(rerun) == ["featurize": "cached", "split": "cached", "test-events": "cached", "cv": "ran", "fit": "cached", "score": "cached",
                                    "early-detection": "cached", "report": "cached"])
        #expect(try work.shell("\(cache) gc --keep-days 0 && test -z \"$(find .fu-cache -mindepth 2)\"").status == 0)
        let bad = try work.shell("\(cache) gc --keep-days soon")
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("cache.sh: error: --keep-days needs a whole number of days, not 'soon'"))
    }

    /// train.sh with the cache in "FOLDER cache", after `before`; both see FOLDER (written
    /// with bash's $'…' escapes) in $d.
    func train(_ work: Workdir, in folder: String, _ arguments: String, before: String) throws -> Workdir.Result {
        try train(work, "--cache-dir \"$d cache\" \(arguments)", before: "d=$'\(folder)'; mkdir -p \"$d\" && \(before)")
    }

    /// An input under a folder whose name has a space, a tab or a newline, and a cache
    /// folder named the same way: the key is the input's content, so new data reruns every
    /// stage (it was a stale hit: the digest failed on the path split at the space), and the
    /// same bytes under another name are a hit.
    @Test(arguments: ["sp ace", "tab\\there", "new\\nline"])
    func awkwardPathsAreKeyedByTheirContent(_ folder: String) throws {
        let work = try Workdir()
        let synth = "fu-synth --seed 11 -o \"$d/events.csv.zst\" --users"
        let first = try train(work, in: folder, "--input \"$d/events.csv.zst\"", before: "\(synth) 600")
        #expect(first.status == 0, "\(first.stderr)")
        let model = try work.read("out/model.json")
        let second = try train(work, in: folder, "--input \"$d/events.csv.zst\"", before: "\(synth) 900")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(Set(statuses(second).values) == ["ran"])
        #expect(try work.read("out/model.json") != model)
        let renamed = try train(work, in: folder, "--input other.csv.zst", before: "cp \"$d/events.csv.zst\" other.csv.zst")
        #expect(renamed.status == 0, "\(renamed.stderr)")
        // Every stage but the report, which shows the input's name beside its digest.
        #expect(statuses(renamed).filter { $0.key != "report" }.values.allSatisfy { $0 == "cached" })
        #expect(statuses(renamed)["report"] == "ran")
    }

    /// An input that cannot be hashed (sha256sum fails on it, or it cannot be read) fails
    /// its stage with one clear line: the key never leaves out the content.
    @Test func anInputThatCannotBeHashedFailsItsStage() throws {
        let work = try Workdir()
        try events(work, users: 300)
        let shim = """
            mkdir shims && printf '#!/bin/sh\\ncase $(readlink /proc/$$/fd/0) in */events.csv) echo "sha256sum: -: Input/output error" >&2; exit 1 ;; esac\\nexec %s "$@"\\n' "$(command -v sha256sum)" > shims/sha256sum && chmod +x shims/sha256sum
            """
        #expect(try work.shell(shim).status == 0)
        let failed = try train(work, "--input events.csv", before: "PATH=\"$PWD/shims:$PATH\"")
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("train.sh: error: stage 'featurize' has no cache key: cannot read 'events.csv' (Input/output error)\n"), "\(failed.stderr)")
        #expect(try work.shell("find .fu-cache -mindepth 2").stdout.isEmpty)  // no entry, no leftover
        #expect(!(try work.files()).contains("out"))
        if getuid() != 0 {  // root reads any file
            let unreadable = try train(work, "--input events.csv", before: "chmod 0 events.csv")
            #expect(unreadable.status == 1)
            #expect(unreadable.stderr.contains("train.sh: error: stage 'featurize' has no cache key: cannot read 'events.csv' (Permission denied)\n"))
        }
    }

    /// Like every tool, train.sh writes where it is run (models/ there), never into the
    /// repository's models/; it refuses to put a model of other data over the bundled one.
    @Test func outputsDefaultToTheCurrentFolderAndTheBundledModelIsKept() throws {
        let work = try Workdir()
        try events(work, users: 600)
        let bundled = Workflow.root.appendingPathComponent("models/fake_user_detector.json").path
        let before = try FileManager.default.attributesOfItem(atPath: bundled)[.modificationDate] as? Date
        let bytes = try Data(contentsOf: URL(fileURLWithPath: bundled))
        let result = try work.shell("FU_BIN='\(Workdir.binaries.path)' bash '\(Workflow.root.path)/workflows/train.sh' --input events.csv")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try work.shell("ls models").stdout == "curves\nfake_user_detector.json\nreport.html\ntraining_metrics.json\n")
        #expect(result.stderr.contains("train.sh: model: models/fake_user_detector.json; metrics: models/training_metrics.json"))
        for target in [bundled, "bundled-models/fake_user_detector.json"] {  // by its path, and through a symbolic link
            let refused = try train(work, "--input events.csv", before: "ln -sfn '\(Workflow.root.path)/models' bundled-models; set -- --model-output '\(target)'")
            #expect(refused.status == 64)
            #expect(refused.stderr.hasSuffix("train.sh: error: will not overwrite the bundled model \(bundled) with a model of events.csv: choose another file with --model-output\n"), "\(refused.stderr)")
        }
        #expect(try FileManager.default.attributesOfItem(atPath: bundled)[.modificationDate] as? Date == before)
        #expect(try Data(contentsOf: URL(fileURLWithPath: bundled)) == bytes)
    }

    /// predict.sh says which model it used: without -m, the bundled one.
    @Test func predictNamesItsModel() throws {
        let work = try Workdir()
        try events(work, users: 200)
        let script = "FU_BIN='\(Workdir.binaries.path)' bash '\(Workflow.root.path)/workflows/predict.sh' -i events.csv -o predictions.csv"
        let bundled = try work.shell(script)
        #expect(bundled.status == 0, "\(bundled.stderr)")
        #expect(bundled.stderr.contains("predict.sh: model: \(Workflow.root.path)/models/fake_user_detector.json\n"))
        let given = try work.shell("cp '\(Workflow.root.path)/models/fake_user_detector.json' m.json && \(script) -m m.json")
        #expect(given.status == 0 && given.stderr.contains("predict.sh: model: m.json\n"))
        // Without -o the predictions go to stdout, like the filters'; on a terminal
        // fu-score's summary shows (issue 21).
        let piped = try work.shell("FU_BIN='\(Workdir.binaries.path)' bash '\(Workflow.root.path)/workflows/predict.sh' -i events.csv -m m.json")
        #expect(piped.status == 0)
        #expect(piped.stdout == (try work.read("predictions.csv")))
        let terminal = try work.shell("FU_BIN='\(Workdir.binaries.path)' script -qec \"bash '\(Workflow.root.path)/workflows/predict.sh' -i events.csv -o p2.csv\" /dev/null")
        #expect(terminal.stdout.contains("fu-score: scored 200 users: "), "\(terminal.stdout)")
    }

    /// Issue 20: train.sh says which stage of how many is running (parallel shards share
    /// one number), and on a terminal its tools draw a percentage and an ETA.
    @Test(arguments: [1, 2]) func trainSaysWhichStageOfHowMany(_ shards: Int) throws {
        let work = try Workdir()
        try events(work, users: 3000)
        let run = "bash '\(Workflow.root.path)/workflows/train.sh' --input events.csv --model-output out/model.json --metrics-output out/metrics.json --shards \(shards)"
        let terminal = try work.shell("FU_PROGRESS_DELAY=0 FU_BIN='\(Workdir.binaries.path)' script -qec \"\(run)\" /dev/null")
        #expect(terminal.status == 0, "\(terminal.stdout)")
        let stages = (shards == 1 ? ["featurize"] : ["featurize-partition", "featurize-shard-0-of-2|featurize-shard-1-of-2", "featurize-merge"])
            + ["split", "test-events", "cv", "fit", "score", "early-detection", "report"]
        let said = terminal.stdout.matches(of: #/train\.sh: \[([0-9]+)/([0-9]+)\] ([a-z0-9-]+): running/#).map {
            (Int($0.output.1)!, Int($0.output.2)!, String($0.output.3))
        }
        var expected: [(Int, Int, String)] = []
        for (k, names) in stages.enumerated() {
            for name in names.split(separator: "|") { expected.append((k + 1, stages.count, String(name))) }
        }
        #expect(said.map { "\($0.0)/\($0.1) \($0.2)" }.sorted() == expected.map { "\($0.0)/\($0.1) \($0.2)" }.sorted())
        #expect(said.map(\.0) == said.map(\.0).sorted(), "in order")
        #expect(terminal.stdout.contains(#/fu-cv: folds fitted [0-9] of 5, [0-9]+%, ETA [0-9]+ s/#), "\(terminal.stdout)")
        // A second run: every stage cached, numbered the same; without a terminal, no progress.
        let again = try work.shell("FU_BIN='\(Workdir.binaries.path)' \(run)")
        #expect(again.status == 0 && again.stderr.contains("train.sh: [1/\(stages.count)] \(shards == 1 ? "featurize" : "featurize-partition"): cached\n"))
        #expect(again.stderr.contains("train.sh: [\(stages.count)/\(stages.count)] report: cached\n") && !again.stderr.contains("ETA"))
    }

    /// SIGINT to the run (as Ctrl-C sends it, to its process group) while a stage runs
    /// leaves no temporary folder, nor a shard still running; and a temporary folder's name
    /// holds its process id, alive while it runs, so gc keeps it.
    @Test(arguments: [1, 3]) func anInterruptLeavesNoTemporaryFolder(_ shards: Int) throws {
        let work = try Workdir()
        try events(work, users: 5000)
        let stage = shards == 1 ? "*" : "featurize-shard-*"
        let result = try work.shell("""
            set -m
            FU_BIN='\(Workdir.binaries.path)' bash '\(Workflow.root.path)/workflows/train.sh' --input events.csv --model-output out/model.json --metrics-output out/metrics.json --shards \(shards) 2> run.log &
            run=$!
            until [ -n "$(find .fu-cache/\(stage) -maxdepth 1 -name '.tmp-*' 2>/dev/null)" ]; do kill -0 $run || exit 1; sleep 0.01; done
            bash '\(Workflow.root.path)/workflows/cache.sh' gc --dry-run > gc.log 2>&1
            kill -INT -- -$run
            wait $run
            """)
        let log = try work.read("run.log")
        #expect(result.status == 130, "\(result.stderr)\(log)")
        #expect(try work.shell("find .fu-cache -name '.tmp-*'").stdout.isEmpty)
        #expect(!(try work.read("gc.log")).contains(".tmp-"))
        // No fu-featurize of this folder still running.
        let running = "for p in /proc/[0-9]*; do [ \"$(readlink $p/cwd)\" = \"$PWD\" ] && readlink $p/exe | grep /fu-featurize; done 2>/dev/null; true"
        #expect(try work.shell(running).stdout.isEmpty)
    }

    /// With --shards, one failing shard stops the others (they were left running).
    @Test func aFailingShardStopsTheOthers() throws {
        let work = try Workdir()
        try events(work, users: 900)
        let real = Workdir.binaries.path
        let wrapper = """
            mkdir bin && ln -s '\(real)'/fu-* bin/ && rm bin/fu-featurize
            cat > bin/fu-featurize <<'WRAPPER'
            #!/bin/bash
            case "$*" in
                *bucket-00000-*) echo $$ > slow.pid; exec sleep 300 ;;
                *bucket-00001-*) until [ -s slow.pid ]; do sleep 0.01; done; echo "fu-featurize: error: made to fail" >&2; exit 1 ;;
            esac
            exec '\(real)/fu-featurize' "$@"
            WRAPPER
            chmod +x bin/fu-featurize
            """
        #expect(try work.shell(wrapper).status == 0)
        let result = try work.shell("FU_BIN=\"$PWD/bin\" bash '\(Workflow.root.path)/workflows/train.sh' --input events.csv --shards 3 --model-output out/model.json", deadline: 120)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("train.sh: error: stage 'featurize' failed"))
        #expect(try work.shell("kill -0 $(cat slow.pid)").status != 0)  // the slow shard was stopped
        #expect(try work.shell("find .fu-cache -name '.tmp-*'").stdout.isEmpty)
    }

    /// A tool that fails on a file of the cache names that file; the run then says what it
    /// is to the user (which input, which stage), after the tool's message, which stays as
    /// the tool wrote it (in the log too).
    @Test func aFailureOnACacheFileNamesTheUsersInput() throws {
        let work = try Workdir()
        try events(work, users: 600)
        // A real one: fu-cv, on the split's train table, with more folds than fakes.
        let cv = try train(work, "--input events.csv --folds 500")
        #expect(cv.status == 1, "\(cv.stderr)")
        let table = try #require(try work.shell("echo .fu-cache/split/*/train.csv.zst").stdout.split(separator: "\n").first.map(String.init))
        #expect(cv.stderr.contains("fewer than the 500 folds (\(table))\ntrain.sh: \(table) is the train users' features of 'events.csv' (stage split)\ntrain.sh: error: stage 'cv' failed"), "\(cv.stderr)")
        let log = try work.read("logs/error.log")
        #expect(log.contains("fewer than the 500 folds (\(table))\n") && !log.contains("events.csv"))

        // fu-split on the features table, and (sharded) fu-featurize on a bucket, made to
        // fail as a tool does, naming the file it read.
        let real = Workdir.binaries.path
        let wrapper = """
            mkdir bin && ln -s '\(real)'/fu-* bin/ && rm bin/fu-split bin/fu-featurize
            for tool in fu-split fu-featurize; do
            cat > bin/$tool <<WRAPPER
            #!/bin/bash
            input=\\$(for a; do [ "\\$prev" = -i ] && echo "\\$a"; prev=\\$a; done)
            case "\\$input" in cache/*) echo "$tool: error: made to fail (\\$input:1)" >&2; exit 65 ;; esac
            exec '\(real)'/$tool "\\$@"
            WRAPPER
            chmod +x bin/$tool
            done
            """
        #expect(try work.shell(wrapper).status == 0)
        let run = "FU_BIN=\"$PWD/bin\" bash '\(Workflow.root.path)/workflows/train.sh' --input 'my events.csv' --cache-dir cache --model-output out/model.json"
        #expect(try work.shell("cp events.csv 'my events.csv'").status == 0)
        let split = try work.shell(run)
        #expect(split.status == 1, "\(split.stderr)")
        let features = try #require(try work.shell("echo cache/featurize/*/features.csv.zst").stdout.split(separator: "\n").first.map(String.init))
        #expect(split.stderr.contains("fu-split: error: made to fail (\(features):1)\ntrain.sh: \(features) is the features of 'my events.csv' (stage featurize)\ntrain.sh: error: stage 'split' failed"), "\(split.stderr)")
        let sharded = try work.shell(run + " --shards 2")
        #expect(sharded.status == 1, "\(sharded.stderr)")
        #expect(sharded.stderr.contains("-of-00002.csv.zst is bucket "), "\(sharded.stderr)")
        #expect(sharded.stderr.contains(" of 2 of 'my events.csv' (stage featurize-partition)\n"))
        #expect(sharded.stderr.contains("train.sh: error: stage 'featurize' failed"))
    }

    /// gc removes a temporary folder whose process has gone, and keeps a running one's.
    @Test func cacheGcRemovesLeftoversOfRunsThatHaveGone() throws {
        let work = try Workdir()
        let gc = try work.shell("""
            dead=$(sh -c 'echo $$')
            mkdir -p .fu-cache/cv/.tmp-$dead-x1 .fu-cache/fit/.old-$dead-7 .fu-cache/cv/.tmp-$$-x2
            bash '\(Workflow.root.path)/workflows/cache.sh' gc && find .fu-cache -mindepth 2 | sed "s/$$/LIVE/"
            """)
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(gc.stdout == ".fu-cache/cv/.tmp-LIVE-x2\n")
        #expect(gc.stderr.hasPrefix("cache.sh: removed 2 entries"))
        for flag in ["--help", "-h"] {
            let help = try work.shell("bash '\(Workflow.root.path)/workflows/cache.sh' \(flag)")
            #expect(help.status == 0 && help.stdout.hasPrefix("Usage: workflows/cache.sh") && help.stderr.isEmpty)
        }
    }
}
