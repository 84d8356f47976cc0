import Foundation
import Testing

/// Issue 12: `fu-score --explain K`, `fu-fit --calibrate sigmoid`, and the one- or
/// two-line summaries learning tools print on a terminal.
@Suite struct ExplainAndCalibrate {
    @Test func reasonsAreTheStrongestContributionsInBothFormats() throws {
        let work = try Workdir()
        let features = try referenceFeatures(work)
        #expect(try work.run("fu-fit", ["-i", features, "-o", "model.json"]).status == 0)
        let model = try json(work.read("model.json"))
        let names = model["features"] as! [String]
        let coefficients = model["coefficients"] as! [Double]
        let scaler = model["scaler"] as! [String: [Double]]
        let intercept = model["intercept"] as! Double

        // JSON Lines with every reason: the contributions are coefficient × standardized
        // value, sorted by size, and with the intercept they add up to the log-odds.
        let all = try work.run("fu-score", ["-m", "model.json", "-i", features, "--format", "jsonl", "--explain", "\(names.count)"])
        #expect(all.status == 0)
        let lines = all.stdout.split(separator: "\n")
        #expect(lines.count == 3000)
        for line in lines.prefix(300) {
            let row = try json(String(line))
            let reasons = row["reasons"] as! [[String: Any]]
            #expect(reasons.count == names.count)
            #expect(Set(reasons.map { $0["feature"] as! String }) == Set(names))
            var sum = intercept
            var previous = Double.infinity
            for reason in reasons {
                let f = names.firstIndex(of: reason["feature"] as! String)!
                let value = reason["value"] as! Double, contribution = reason["contribution"] as! Double
                let expected = coefficients[f] * (value - scaler["mean"]![f]) / scaler["scale"]![f]
                #expect(abs(contribution - expected) <= 1e-12 * max(1, abs(expected)))
                #expect(abs(contribution) <= previous)
                previous = abs(contribution)
                sum += contribution
            }
            let p = row["Probability"] as! Double
            #expect(abs(sum - log(p / (1 - p))) < 1e-6 * max(1, abs(sum)))
        }

        // CSV: one column `reasons`, `name=value (+c.cc)` joined by "; ", the same three as
        // JSON Lines' first three, and the value is the user's value in the features table.
        let csv = try work.run("fu-score", ["-m", "model.json", "-i", features, "--explain", "3"])
        #expect(csv.status == 0)
        let rows = csvRows(csv.stdout)
        #expect(rows[0] == ["UserId", "Fake", "Probability", "reasons"])
        let table = csvRows(try work.read(features))
        let pattern = #/^([a-z_]+)=(-?[0-9.e+-]+) \(([+-][0-9]+\.[0-9]{2})\)$/#
        for (index, row) in rows.dropFirst().prefix(300).enumerated() {
            let items = row[3].split(separator: "; ")
            #expect(items.count == 3)
            let full = try json(String(lines[index]))["reasons"] as! [[String: Any]]
            for (item, reason) in zip(items, full) {
                guard let match = String(item).wholeMatch(of: pattern) else {
                    Issue.record("reason '\(item)' is not name=value (±c.cc)")
                    continue
                }
                #expect(String(match.1) == reason["feature"] as! String)
                // (Foundation's JSON parser can be off in the last bit; the CSV is checked exactly below.)
                #expect(abs(Double(match.2)! - (reason["value"] as! Double)) <= 1e-15 * max(1, abs(Double(match.2)!)))
                #expect(abs(Double(match.3)! - (reason["contribution"] as! Double)) <= 0.005 + 1e-12)
                let column = table[0].firstIndex(of: String(match.1))!
                #expect(Double(table[index + 1][column])! == Double(match.2)!)
            }
        }
        // Without --explain the output is what it was.
        let plain = try work.run("fu-score", ["-m", "model.json", "-i", features])
        #expect(csvRows(plain.stdout).map { Array($0.prefix(3)) } == rows.map { Array($0.prefix(3)) })
    }

    @Test func explainCountIsChecked() throws {
        let work = try Workdir()
        let features = try referenceFeatures(work)
        #expect(try work.run("fu-fit", ["-i", features, "-o", "model.json", "--features", "total_events,click_ad_ratio"]).status == 0)
        let zero = try work.run("fu-score", ["-m", "model.json", "-i", features, "--explain", "0"])
        #expect(zero.status == 64)
        #expect(zero.stderr.contains("--explain must be at least 1, not 0"))
        let many = try work.run("fu-score", ["-m", "model.json", "-i", features, "--explain", "3"])
        #expect(many.status == 64)
        #expect(many.stderr.contains("fu-score: error: --explain must be a number of reasons from 1 to 2 (the model's feature count), not 3"))
        #expect(many.stdout.isEmpty)
        let two = try work.run("fu-score", ["-m", "model.json", "-i", features, "--explain", "2"])
        #expect(two.status == 0)
        #expect(csvRows(two.stdout)[1][3].split(separator: "; ").count == 2)
    }

    /// On the bundled data (data/events.csv.zst, 5,000 users), over six held-out splits:
    /// calibration lowers the log loss on every split and the Brier score on average (not
    /// on every split: the data is nearly separable, and scikit-learn's
    /// CalibratedClassifierCV shows the same), keeps the ranking, and brings the mean
    /// probability nearer the share of fakes.
    @Test func calibratedProbabilitiesAreBetterCalibrated() throws {
        let work = try Workdir()
        let events = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("data/events.csv.zst").path
        #expect(try work.run("fu-featurize", ["-i", events, "-o", "features.csv"]).status == 0)
        var brier = (plain: 0.0, calibrated: 0.0)
        for seed in 1...6 {
            #expect(try work.run("fu-split", ["--test-size", "0.3", "--seed", "\(seed)", "--test", "test.csv", "-i", "features.csv", "-o", "train.csv"]).status == 0)
            #expect(try work.run("fu-fit", ["-i", "train.csv", "-o", "plain.json"]).status == 0)
            #expect(try work.run("fu-fit", ["-i", "train.csv", "-o", "calibrated.json", "--calibrate", "sigmoid", "--folds", "4", "--seed", "9"]).status == 0)
            let plainModel = try json(work.read("plain.json")), model = try json(work.read("calibrated.json"))
            #expect(plainModel["calibration"] == nil)
            let calibration = model["calibration"] as! [String: Any]
            #expect(calibration["method"] as? String == "sigmoid")
            #expect((calibration["a"] as! Double) < 0)
            #expect((model["training"] as! [String: Any])["folds"] as? Int == 4)
            // The regression itself is the same model.
            #expect(model["coefficients"] as! [Double] == plainModel["coefficients"] as! [Double])
            for name in ["plain", "calibrated"] {
                #expect(try work.run("fu-score", ["-m", "\(name).json", "-i", "test.csv", "--metrics", "\(name)-metrics.json", "-o", "\(name).csv"]).status == 0)
            }
            let plain = try json(work.read("plain-metrics.json")), calibrated = try json(work.read("calibrated-metrics.json"))
            brier.plain += plain["brier_score"] as! Double
            brier.calibrated += calibrated["brier_score"] as! Double
            #expect((calibrated["log_loss"] as! Double) < 0.8 * (plain["log_loss"] as! Double), "split \(seed)")
            // A monotone map: the ranking, and so the AUC, is unchanged.
            #expect(abs((calibrated["roc_auc"] as! Double) - (plain["roc_auc"] as! Double)) < 1e-12)
            func meanProbability(_ name: String) throws -> Double {
                let rows = csvRows(try work.read(name)).dropFirst()
                return rows.map { Double($0[2])! }.reduce(0, +) / Double(rows.count)
            }
            let share = Double((calibrated["1"] as! [String: Any])["support"] as! Int) / Double((calibrated["macro avg"] as! [String: Any])["support"] as! Int)
            #expect(abs(try meanProbability("calibrated.csv") - share) < abs(try meanProbability("plain.csv") - share), "split \(seed)")
        }
        #expect(brier.calibrated < 0.97 * brier.plain, "mean Brier \(brier.calibrated / 6) vs \(brier.plain / 6)")

        let bad = try work.run("fu-fit", ["-i", "train.csv", "--calibrate", "isotonic"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--calibrate must be 'none' or 'sigmoid', not 'isotonic'"))
    }

    @Test func summariesOnlyOnATerminal() throws {
        let work = try Workdir()
        let features = try referenceFeatures(work)
        // `script` gives the tools a terminal; what they print there lands in its stdout.
        let terminal = try work.shell("""
            script -qec 'fu-split --test-size 0.2 --test test.csv -i \(features) -o train.csv \
              && fu-cv -i train.csv -o cv.json && fu-fit -i train.csv -o model.json --calibrate sigmoid \
              && fu-score -m model.json -i test.csv -o p.csv --metrics m.json' /dev/null
            """)
        #expect(terminal.status == 0)
        let text = terminal.stdout.replacingOccurrences(of: "\r", with: "")
        #expect(text.contains("fu-split: 3,000 users: 2,400 train, 600 test (stratified by Fake, seed 42)\n"))
        #expect(text.contains(try Regex(#"fu-cv: 5-fold CV F1 0\.\d{3} ± 0\.\d{3}, AUC 0\.\d{3} \(2,400 users\)\n"#)))
        #expect(text.contains(try Regex(#"fu-fit: fitted on 2,400 users \(\d+ fake\), \d+ features, \d+ iterations, converged; threshold 0\.5\n"#)))
        #expect(text.contains(try Regex(#"fu-fit: probabilities calibrated \(Platt sigmoid on 5-fold out-of-fold scores\): a -[0-9.e-]+, b [0-9.e-]+\n"#)))
        #expect(text.contains(try Regex(#"fu-score: scored 600 users: \d+ fake at threshold 0\.5\nfu-score: F1 0\.\d{3}, AUC 0\.\d{3}, Brier 0\.\d{3}\n"#)))
        // Piped: nothing on stderr.
        for command in [
            "fu-split --test-size 0.2 --test test2.csv -i \(features) -o train2.csv", "fu-cv -i train.csv -o cv2.json",
            "fu-fit -i train.csv -o model2.json --calibrate sigmoid", "fu-score -m model.json -i test.csv -o p2.csv --metrics m2.json",
        ] {
            let piped = try work.shell(command)
            #expect(piped.status == 0)
            #expect(piped.stderr.isEmpty, "\(command): \(piped.stderr)")
        }
        #expect(try work.read("p.csv") == work.read("p2.csv"))
    }

    /// Issue 13: progress for every step longer than a second, computing included: the
    /// models of fu-cv and fu-fit as they finish, fu-synth's users and events; then one
    /// line of totals that replaces the progress line, before the summary.
    @Test func progressWhileComputing() throws {
        let work = try Workdir()
        // Every update drawn, however fast the build (ProgressTiming checks the default pace);
        // over 65,536 events, so that one is drawn mid-way with an ETA.
        let synth = try work.shell("FU_PROGRESS_DELAY=0 script -qec 'fu-synth --users 50000 -o events.csv' /dev/null")
        #expect(synth.status == 0)
        #expect(synth.stdout.contains(try Regex(#"fu-synth: (users made|events written) [0-9,]+ of [0-9,]+, [0-9]+%, ETA [0-9]+ s"#)), "\(synth.stdout)")
        #expect(synth.stdout.contains(try Regex(#"\rfu-synth: [0-9,]+ events, 50,000 users in [0-9.]+ s\x1B\[K"#)))
        #expect(try work.shell("fu-featurize events.csv | head -10001 > train.csv").status == 0)
        let terminal = try work.shell("FU_PROGRESS_DELAY=0 script -qec 'fu-cv train.csv -o cv.json && fu-fit --threshold auto train.csv -o model.json' /dev/null")
        #expect(terminal.status == 0)
        // The terminal's CR LF as LF: Swift reads "\r\n" as one Character.
        let text = terminal.stdout.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(text.contains(try Regex(#"fu-cv: folds fitted [0-4] of 5, [0-9]+%"#)), "\(text)")
        #expect(text.contains(try Regex(#"\rfu-cv: folds fitted 5 of 5, 100%\x1B\[K\rfu-cv: 10,000 users, 5 folds in [0-9.]+ s\x1B\[K\nfu-cv: 5-fold CV F1"#)))
        #expect(text.contains(try Regex(#"fu-fit: models fitted [0-5] of 6, [0-9]+%"#)))
        #expect(text.contains(try Regex(#"\rfu-fit: models fitted 6 of 6, 100%\x1B\[K\rfu-fit: 10,000 users in [0-9.]+ s\x1B\[K\nfu-fit: fitted on"#)))
        // Piped, nothing (summariesOnlyOnATerminal checks fu-cv and fu-fit).
        let piped = try work.shell("fu-synth --users 50000 -o events2.csv")
        #expect(piped.status == 0 && piped.stderr.isEmpty, "\(piped.stderr)")
        #expect(try work.read("events.csv") == work.read("events2.csv"))
    }
}
