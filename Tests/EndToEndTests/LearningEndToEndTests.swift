import Foundation
import FakeUserKit
import Testing

/// Features of the bundled reference data, made by the real fu-featurize.
func referenceFeatures(_ work: Workdir) throws -> String {
    let events = try work.fixture("events.csv.zst")
    #expect(try work.run("fu-featurize", ["-i", events, "-o", "features.csv"]).status == 0)
    return "features.csv"
}

func json(_ text: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
}

@Suite struct LearningEndToEnd {
    @Test func fitMatchesScikitLearnThroughThePipes() throws {
        let work = try Workdir()
        let sklearn = try json(String(contentsOfFile: try work.fixture("sklearn.json"), encoding: .utf8))
        let names = (sklearn["features"] as! [String]).joined(separator: ",")
        let reference = try work.fixture("features.csv")
        let result = try work.run("fu-fit", ["-i", reference, "--features", names, "--metrics", "train.json"])
        #expect(result.status == 0)
        let model = try json(result.stdout)
        let fit = (sklearn["fits"] as! [[String: Any]])[0]
        for (ours, theirs) in zip(model["coefficients"] as! [Double], fit["coefficients"] as! [Double]) {
            #expect(abs(ours - theirs) < 1e-6)
        }
        #expect(abs((model["intercept"] as! Double) - (fit["intercept"] as! Double)) < 1e-6)
        let metrics = try json(work.read("train.json"))
        #expect(abs((metrics["roc_auc"] as! Double) - (fit["train_roc_auc"] as! Double)) < 1e-9)
        #expect((metrics["confusion_matrix"] as! [[Int]]) == (fit["train_confusion_matrix"] as! [[Int]]))
    }

    @Test func splitFitScoreRoundTrip() throws {
        let work = try Workdir()
        let features = try referenceFeatures(work)
        #expect(try work.run("fu-split", ["--test-size", "0.25", "--seed", "3", "--test", "test.csv", "-i", features, "-o", "train.csv"]).status == 0)
        let all = csvRows(try work.read(features))
        let train = csvRows(try work.read("train.csv"))
        let test = csvRows(try work.read("test.csv"))
        #expect(train[0] == all[0] && test[0] == all[0])
        #expect(test.count - 1 == 750 && train.count - 1 == 2250)
        #expect(Set(train.dropFirst().map { $0[0] }).isDisjoint(with: test.dropFirst().map { $0[0] }))
        #expect((train.dropFirst() + test.dropFirst()).map { $0.joined(separator: ",") }.sorted() == all.dropFirst().map { $0.joined(separator: ",") }.sorted())
        // Stratified: the test side has its share of fakes (154 of 3,000 overall).
        let testFakes = test.dropFirst().filter { $0[1] == "1" }.count
        #expect((38...39).contains(testFakes))
        // Row order is kept.
        #expect(train.dropFirst().map { $0[0] } == train.dropFirst().map { $0[0] }.sorted())

        #expect(try work.run("fu-fit", ["-i", "train.csv", "-o", "model.json"]).status == 0)
        let scored = try work.run("fu-score", ["-m", "model.json", "-i", "test.csv", "--metrics", "metrics.json"])
        #expect(scored.status == 0)
        let predictions = csvRows(scored.stdout)
        #expect(predictions[0] == ["UserId", "Fake", "Probability"])
        #expect(predictions.dropFirst().map { $0[0] } == test.dropFirst().map { $0[0] })
        #expect(predictions.dropFirst().allSatisfy { ($0[1] == "1") == (Double($0[2])! >= 0.5) })
        let metrics = try json(work.read("metrics.json"))
        #expect((metrics["roc_auc"] as! Double) > 0.95)
        #expect((metrics["1"] as! [String: Any])["support"] as! Int == testFakes)

        let jsonl = try work.run("fu-score", ["-m", "model.json", "-i", "test.csv", "--format", "jsonl", "--threshold", "0.9"])
        let first = try json(String(jsonl.stdout.split(separator: "\n")[0]))
        #expect(first["UserId"] as? String == predictions[1][0])
        #expect((first["Fake"] as! Int == 1) == ((first["Probability"] as! Double) >= 0.9))
    }

    @Test func scoringFillsMissingEventTypesAndIgnoresExtras() throws {
        let work = try Workdir()
        let features = try referenceFeatures(work)
        #expect(try work.run("fu-fit", ["-i", features, "-o", "model.json"]).status == 0)
        try work.write("batch.csv", "UserId,extra,total_events,click_ad_ratio,send_email_ratio,unique_categories,category_repeat_ratio,click_ad,click_carrousel,phone_call,send_email,click_carrousel_ratio,phone_call_ratio,click_ratio,unique_events,event_entropy,category_entropy,top_category_share,unique_event_category_pairs\nU1,zzz,2,0.5,0.5,1,2,1,0,0,1,0,0,0.5,2,0.69314718055994529,0,1,2\n")
        let result = try work.run("fu-score", ["-v", "-m", "model.json", "-i", "batch.csv"])
        #expect(result.status == 0)
        #expect(csvRows(result.stdout).count == 2)
        #expect(result.stderr.contains("columns missing from the input read as 0 columns=send_sms,send_sms_ratio"))
        #expect(result.stderr.contains("columns the model does not use are ignored columns=extra"))
    }

    @Test func crossValidationOutputAndOutOfFoldFile() throws {
        let work = try Workdir()
        let features = try referenceFeatures(work)
        let first = try work.run("fu-cv", ["-i", features, "--folds", "4", "--seed", "5", "--oof", "oof.csv"])
        let second = try work.run("fu-cv", ["-i", features, "--folds", "4", "--seed", "5"])
        #expect(first.status == 0)
        #expect(first.stdout == second.stdout)
        let cv = try json(first.stdout)
        #expect((cv["f1_scores"] as! [Double]).count == 4)
        #expect((cv["per_fold"] as! [[String: Any]]).map { $0["test_rows"] as! Int }.reduce(0, +) == 3000)
        let mean = cv["mean_f1"] as! Double
        #expect(mean > 0.8 && mean == (cv["mean"] as! [String: Double])["f1"])
        let threshold = cv["best_threshold"] as! Double
        #expect(threshold > 0 && threshold < 1)
        let oof = csvRows(try work.read("oof.csv"))
        #expect(oof[0] == ["UserId", "Fake", "Probability", "fold"])
        #expect(oof.count == 3001)
        #expect(Set(oof.dropFirst().map { $0[3] }) == ["0", "1", "2", "3"])

        let auto = try work.run("fu-fit", ["-i", features, "--threshold", "auto", "--folds", "4", "--seed", "5"])
        let model = try json(auto.stdout)
        #expect(model["threshold"] as! Double == threshold)
    }

    @Test func headerOnlyInputsGiveHeaderOnlyOutputs() throws {
        let work = try Workdir()
        try work.write("empty.csv", "UserId,Fake,a\n")
        let split = try work.run("fu-split", ["-i", "empty.csv", "--test", "test.csv", "--truth", "truth.csv"])
        #expect(split.status == 0, "\(split.stderr)")
        #expect(split.stdout == "UserId,Fake,a\n")
        #expect(try work.read("test.csv") == "UserId,Fake,a\n")
        #expect(try work.read("truth.csv") == "UserId,Fake\n")
        try work.write("train.csv", "UserId,Fake,a\nU1,0,1\nU2,1,5\nU3,0,2\nU4,1,6\n")
        #expect(try work.run("fu-fit", ["-i", "train.csv", "-o", "model.json"]).status == 0)
        let scored = try work.run("fu-score", ["-m", "model.json", "-i", "empty.csv"])
        #expect(scored.status == 0)
        #expect(scored.stdout == "UserId,Fake,Probability\n")
    }

    @Test func splittingEventsKeepsUsersWhole() throws {
        let work = try Workdir()
        let events = try work.fixture("events.csv.zst")
        let result = try work.shell("zstd -dc '\(events)' | fu-split --test-size 0.2 --test test.csv --drop-label --truth truth.csv > train.csv")
        #expect(result.status == 0)
        let train = csvRows(try work.read("train.csv"))
        let test = csvRows(try work.read("test.csv"))
        let truth = csvRows(try work.read("truth.csv"))
        #expect(train[0] == ["UserId", "Event", "Category", "Fake"])
        #expect(test[0] == ["UserId", "Event", "Category"])
        #expect(truth[0] == ["UserId", "Fake"])
        let testUsers = Set(test.dropFirst().map { $0[0] })
        #expect(testUsers.isDisjoint(with: train.dropFirst().map { $0[0] }))
        #expect(testUsers.count == 600)
        #expect(truth.dropFirst().map { $0[0] } == testUsers.sorted())
        #expect(train.count + test.count - 2 == 54_900)
    }

    @Test func splitByHashIsAboutTheUserOnly() throws {
        let work = try Workdir()
        let features = try referenceFeatures(work)
        #expect(try work.run("fu-split", ["--by-hash", "--test-size", "0.3", "--test", "t1.csv", "-i", features, "-o", "r1.csv"]).status == 0)
        try work.shell("head -1001 \(features) > part.csv")
        #expect(try work.run("fu-split", ["--by-hash", "--test-size", "0.3", "--test", "t2.csv", "-i", "part.csv", "-o", "r2.csv"]).status == 0)
        let wholeTest = Set(csvRows(try work.read("t1.csv")).dropFirst().map { $0[0] })
        let partTest = Set(csvRows(try work.read("t2.csv")).dropFirst().map { $0[0] })
        #expect(partTest.isSubset(of: wholeTest))
        #expect(Double(wholeTest.count) / 3000 > 0.25 && Double(wholeTest.count) / 3000 < 0.35)
    }
}

/// Each bad input of the learning tools: message, exit code, and the -o file left alone.
@Suite struct LearningBadInput {
    func expectFailure(_ tool: String, _ arguments: [String], in work: Workdir, status: Int32, message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try work.write("out.file", "previous\n")
        let before = try work.files()
        let result = try work.run(tool, arguments + ["-o", "out.file"])
        #expect(result.status == status, sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("\(tool): error: \(message)"), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "one line: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(try work.read("out.file") == "previous\n", sourceLocation: sourceLocation)
        #expect(try work.files() == before, sourceLocation: sourceLocation)
    }

    @Test func unlabelledFeatures() throws {
        let work = try Workdir()
        try work.write("nolabel.csv", "UserId,a\nU1,1\nU2,2\n")
        for tool in ["fu-fit", "fu-cv"] {
            try expectFailure(tool, ["-i", "nolabel.csv"], in: work, status: 65, message: "missing required column 'Fake' (nolabel.csv:1)")
        }
        try expectFailure("fu-split", ["-i", "nolabel.csv", "--test", "t.csv"], in: work, status: 65,
                          message: "missing required column 'Fake': a stratified split needs labels; without them split with --by-hash (nolabel.csv:1)")
    }

    @Test func badLabelsAndValues() throws {
        let work = try Workdir()
        try work.write("label.csv", "UserId,Fake,a\nU1,0,1\nU2,2,2\n")
        try expectFailure("fu-fit", ["-i", "label.csv"], in: work, status: 65, message: "Fake must be 0 or 1, found '2' (label.csv:3)")
        try work.write("nan.csv", "UserId,Fake,a\nU1,0,1\nU2,1,nan\n")
        try expectFailure("fu-fit", ["-i", "nan.csv"], in: work, status: 65, message: "feature 'a' is not finite: 'nan' (nan.csv:3)")
        try work.write("inf.csv", "UserId,Fake,a\nU1,0,inf\nU2,1,1\n")
        try expectFailure("fu-cv", ["-i", "inf.csv"], in: work, status: 65, message: "feature 'a' is not finite: 'inf' (inf.csv:2)")
        try work.write("text.csv", "UserId,Fake,a\nU1,0,x1\n")
        try expectFailure("fu-fit", ["-i", "text.csv"], in: work, status: 65, message: "feature 'a' is not a number: 'x1' (text.csv:2)")
        try work.write("one.csv", "UserId,Fake,a\nU1,1,1\nU2,1,2\n")
        try expectFailure("fu-fit", ["-i", "one.csv"], in: work, status: 65, message: "only one class in the training rows (2 with Fake=1 of 2): need both")
        try expectFailure("fu-fit", ["-i", "one.csv", "--features", "a,b"], in: work, status: 65, message: "missing feature column 'b' (one.csv:1)")
    }

    @Test func tooFewUsersOfAClassForTheFolds() throws {
        let work = try Workdir()
        try work.write("few.csv", "UserId,Fake,a\nU1,0,1\nU2,0,2\nU3,1,3\nU4,0,4\nU5,1,5\nU6,0,6\n")
        try expectFailure("fu-cv", ["-i", "few.csv", "--folds", "3"], in: work, status: 65, message: "only 2 rows with Fake=1, fewer than the 3 folds")
    }

    @Test func badArguments() throws {
        let work = try Workdir()
        try work.write("f.csv", "UserId,Fake,a\nU1,0,1\nU2,1,2\n")
        try expectFailure("fu-cv", ["-i", "f.csv", "--folds", "1"], in: work, status: 64, message: "--folds must be at least 2")
        for threshold in ["1.5", "capacity:0", "capacity:1.5", "capacity:", "cost:fp=1", "cost:fp=1,fn=0", "cost:fp=1,fn=2,fp=3", "cost:fp=1,fx=2", "costs"] {
            try expectFailure("fu-fit", ["-i", "f.csv", "--threshold", threshold], in: work, status: 64, message: "--threshold must be a probability between 0 and 1, 'auto', 'capacity:R' (a share of users in (0, 1]) or 'cost:fp=A,fn=B' (positive costs), not '\(threshold)'")
        }
        try expectFailure("fu-fit", ["-i", "f.csv", "-c", "0"], in: work, status: 64, message: "--cost must be a positive number")
        for size in ["0", "1.5", "-0.2", "x"] {
            try expectFailure("fu-split", ["-i", "f.csv", "--test", "t.csv", "--test-size=\(size)"], in: work, status: 64, message: "--test-size must be a fraction in (0, 1) or a whole number of users, not '\(size)'")
        }
        try expectFailure("fu-split", ["-i", "f.csv", "--test", "t.csv", "--test-size", "5"], in: work, status: 64, message: "--test-size 5 is not smaller than the 2 users in the input")
        try expectFailure("fu-score", ["-i", "f.csv"], in: work, status: 64, message: "Missing expected argument '--model <file>'")
    }

    @Test func badModels() throws {
        let work = try Workdir()
        let features = try referenceFeatures(work)
        #expect(try work.run("fu-fit", ["-i", features, "-o", "model.json"]).status == 0)
        let good = try work.read("model.json")
        let cases: [(String, String)] = [
            ("{not json", "invalid model... "),
            (good.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 7"), "invalid model: format version 7 is not supported (this fu reads versions 1 to 4)"),
            (good.replacingOccurrences(of: "\"intercept\": ", with: "\"intercept\": \"x\", \"y\": "), "invalid model: 'intercept' is missing or not a finite number"),
            (good.replacingOccurrences(of: "\"features\": [\n", with: "\"features\": [\n    \"extra\",\n"), "invalid model: 20 features but 19 means, 19 scales and 19 coefficients"),
            (good.replacingOccurrences(of: "\"coefficients\": [\n", with: "\"coefficients\": [\n    null,\n"), "invalid model: 'coefficients' has a value that is not a finite number"),
        ]
        for (text, message) in cases {
            try work.write("bad.json", text)
            if message.hasSuffix("... ") {
                try expectFailure("fu-score", ["-m", "bad.json", "-i", features], in: work, status: 65, message: "model is not valid JSON")
            } else {
                try expectFailure("fu-score", ["-m", "bad.json", "-i", features], in: work, status: 65, message: message)
            }
        }
        try expectFailure("fu-score", ["-m", "missing.json", "-i", features], in: work, status: 66, message: "cannot open missing.json")
    }

    @Test func modelFeaturesAbsentFromTheInput() throws {
        let work = try Workdir()
        let features = try referenceFeatures(work)
        #expect(try work.run("fu-fit", ["-i", features, "-o", "model.json"]).status == 0)
        try work.write("thin.csv", "UserId,total_events,click_ad\nU1,3,1\n")
        try expectFailure("fu-score", ["-m", "model.json", "-i", "thin.csv"], in: work, status: 65, message: "the input lacks the model's features 'click_ad_ratio', 'send_email_ratio'")
        try work.write("nolabel.csv", String(try work.read(features).split(separator: "\n")[0]).replacingOccurrences(of: "Fake,", with: "") + "\n")
        try expectFailure("fu-score", ["-m", "model.json", "-i", "nolabel.csv", "--metrics", "m.json"], in: work, status: 65, message: "missing required column 'Fake'")
    }
}

/// `--threshold capacity:R` and `cost:fp=A,fn=B` against fu-cv's out-of-fold predictions
/// (the same folds and seed), with each rule computed here by a direct count.
@Suite struct ThresholdRulesEndToEnd {
    func outOfFold(_ work: Workdir) throws -> (labels: [Int], scores: [Double]) {
        #expect(try work.shell("fu-synth --users 1500 --seed 9 | fu-featurize > features.csv && fu-cv --folds 4 --seed 3 --oof oof.csv features.csv > cv.json").status == 0)
        let rows = csvRows(try work.read("oof.csv")).dropFirst()
        return (rows.map { Int($0[1])! }, rows.map { Double($0[2])! })
    }

    func threshold(_ work: Workdir, _ rule: String) throws -> (Double, String) {
        let fit = try work.run("fu-fit", ["--threshold", rule, "--folds", "4", "--seed", "3", "-o", "model.json", "features.csv"])
        #expect(fit.status == 0, "\(fit.stderr)")
        let model = try JSONValue.parse(Array(try work.read("model.json").utf8))
        return (model["threshold"]!.doubleValue!, model["training"]!["threshold_source"]!.stringValue!)
    }

    @Test func capacityFlagsAtMostTheShareOnOutOfFoldScores() throws {
        let work = try Workdir()
        let (_, scores) = try outOfFold(work)
        let (chosen, source) = try threshold(work, "capacity:0.1")
        let allowed = Set(scores).filter { t in Double(scores.filter { $0 >= t }.count) <= 0.1 * Double(scores.count) }
        #expect(chosen == allowed.min())
        #expect(source == "capacity 0.1 (4-fold out-of-fold: flags \(scores.filter { $0 >= chosen }.count) of 1500 users)")
    }

    @Test func aCapacityThatFlagsNoUserIsADataError() throws {
        let work = try Workdir()
        _ = try outOfFold(work)
        try work.write("model.json", "previous\n")
        let result = try work.run("fu-fit", ["--threshold", "capacity:0.0001", "--folds", "4", "--seed", "3", "-o", "model.json", "features.csv"])
        #expect(result.status == 65)
        #expect(result.stderr.hasPrefix("fu-fit: error: --threshold capacity:0.0001 flags no user: ") && result.stderr.hasSuffix("more than 0.0001 of 1,500 (0)\n"), "\(result.stderr)")
        #expect(try work.read("model.json") == "previous\n")
    }

    @Test func costIsLeastOnOutOfFoldScores() throws {
        let work = try Workdir()
        let (labels, scores) = try outOfFold(work)
        let (chosen, source) = try threshold(work, "cost:fp=1,fn=20")
        func cost(_ t: Double) -> Double {
            zip(labels, scores).reduce(0.0) { total, user in
                total + (user.1 >= t && user.0 == 0 ? 1 : 0) + (user.1 < t && user.0 == 1 ? 20 : 0)
            }
        }
        let candidates = Set(scores).union([1])
        let least = candidates.map(cost).min()!
        #expect(chosen == candidates.filter { cost($0) == least }.max())
        #expect(source.hasPrefix("cost fp=1 fn=20 (4-fold out-of-fold: ") && source.hasSuffix("cost \(Int(least)))"))
    }
}
