#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the model turns scores into actions: the curve of the rule that chose its threshold
/// (a review capacity or a cost) with the chosen point, and its allow/review/block bands as
/// the test users fall into them.
extension EvaluationReport {
    /// The threshold rule, when it has a curve to show.
    var thresholdRule: ThresholdChoice? {
        guard let text = inputs.model.training.thresholdRule, let rule = try? ThresholdChoice(parsing: text, folds: 1, seed: 0) else { return nil }
        switch rule {
        case .capacity, .cost: return rule
        case .fixed, .auto: return nil
        }
    }

    var hasDecisionCard: Bool { thresholdRule != nil || inputs.model.decisionBands != nil }

    var decisionCard: String {
        var chart = ""
        // Each axis shows the region that matters: up to a few times the capacity, or
        // half again the cost of flagging no one (the curves rise far above both at 0).
        switch thresholdRule {
        case .capacity(let share, _, _)?:
            chart = ruleChart(
                id: "capacity", yLabel: "Share of users flagged", what: "share flagged", focus: min(1, 4 * share),
                limit: (share, "review capacity \(shortest(share))")) { Double($0.truePositives + $0.falsePositives) / Double($0.users) }
        case .cost(let a, let b, _, _)?:
            let flagNone = b * Double(inputs.test.positives) / Double(max(inputs.test.count, 1))
            chart = ruleChart(id: "cost", yLabel: "Cost per user, (A·FP + B·FN) / n", what: "cost per user", focus: 1.5 * flagNone, limit: nil) {
                (a * Double($0.falsePositives) + b * Double($0.falseNegatives)) / Double($0.users)
            }
        default:
            break
        }
        let bands = inputs.model.decisionBands.map(bandsTable) ?? ""
        let body = chart.isEmpty || bands.isEmpty ? chart + bands : "<div class=\"split\"><div>\(chart)</div><div>\(bands)</div></div>"
        let titles = [thresholdRule.map { rule -> String in
            if case .capacity = rule { return "Users flagged against the review capacity" }
            return "Expected cost by threshold"
        }, inputs.model.decisionBands.map { _ in "allow, review and block" }].compactMap { $0 }
        let title = titles.joined(separator: "; ")
        return card(title.prefix(1).uppercased() + title.dropFirst(), body, wide: !chart.isEmpty && !bands.isEmpty, id: "decision-card")
    }

    /// The rule's measure against the threshold, on the out-of-fold scores (what the rule
    /// was chosen on) when given and on the test users, with the model's threshold marked.
    private func ruleChart(
        id: String, yLabel: String, what: String, focus: Double, limit: (value: Double, label: String)?, measure: (Confusion) -> Double
    ) -> String {
        func series(_ curves: EvaluationCurves, _ users: ScoredUsers) -> [(Double, Double)] {
            let table = curves.threshold
            let counts = zip(table.column("true_positives"), zip(table.column("false_positives"), table.column("false_negatives")))
            return zip(table.column("threshold"), counts).map { t, counts in
                (t, measure(Confusion(truePositives: Int(counts.0), falsePositives: Int(counts.1.0), falseNegatives: Int(counts.1.1), users: users.count)))
            }
        }
        func at(_ threshold: Double, _ users: ScoredUsers) -> Double {
            var counts = Confusion(truePositives: 0, falsePositives: 0, falseNegatives: 0, users: users.count)
            for (label, probability) in zip(users.labels, users.probabilities) {
                if probability >= threshold {
                    if label == 1 { counts.truePositives += 1 } else { counts.falsePositives += 1 }
                } else if label == 1 {
                    counts.falseNegatives += 1
                }
            }
            return measure(counts)
        }
        var lines: [(name: String, style: String, label: String, points: [(Double, Double)], users: ScoredUsers)] = []
        if let outOfFold, let users = inputs.outOfFold { lines.append(("oof", "s-oof", "out of fold (the rule's scores)", series(outOfFold, users), users)) }
        lines.append(("test", "s-test", "test", series(test, inputs.test), inputs.test))
        let (top, step) = niceAxis(focus)
        var chart = SVGChart(id: id, xLabel: "Threshold", yLabel: yLabel)
        chart.yRange = 0...top
        chart.yTicks = (0...5).map { Double($0) * step }
        chart.yTickDigits = max(0, Int((-log10(step)).rounded(.up)))
        var entries: [(style: String, label: String)] = []
        for line in lines {
            chart.line(downsample(line.points.map { ($0.0, min($0.1, top)) }, limit: EvaluationReport.pointLimit), series: line.name, style: line.style)
            entries.append((line.style, "\(what), \(line.label)"))
        }
        if let limit {
            chart.line([(0, limit.value), (1, limit.value)], series: "limit", style: "s-limit", title: limit.label)
            entries.append(("s-limit", limit.label))
        }
        let threshold = inputs.model.threshold
        chart.vertical(at: threshold, style: "chosen", label: "the model's threshold \(fixed(threshold, 4))")
        chart.markers(lines.map { line in
            let value = at(threshold, line.users)
            return (threshold, min(value, top), "\(what) at the model's threshold, \(line.label): \(significant(value, 4))")
        }, series: "chosen", style: "s-chosen")
        entries.append(("chosen", "the model's threshold \(number("model", "threshold", digits: 3))"))
        let note = "<p class=\"note\">\(escapeHTML(inputs.model.training.thresholdSource)).</p>"
        return chart.render(label: "\(what) against the threshold") + legend(entries) + note
    }

    /// Users flagged rightly and wrongly at a threshold, of `users`.
    struct Confusion {
        var truePositives: Int, falsePositives: Int, falseNegatives: Int, users: Int
    }

    /// Each band's scores and the test users in it: how many, how many fakes, the precision.
    private func bandsTable(_ bands: DecisionBands) -> String {
        var rows = ""
        for decision in Decision.allCases.reversed() {
            let users = zip(inputs.test.labels, inputs.test.probabilities).filter { bands.decision($0.1) == decision }
            let fakes = users.count { $0.0 == 1 }
            let from: String
            switch decision {
            case .block: from = bands.block == nil ? "no one" : "≥ " + number("model", "decision_bands/block")
            case .review: from = bands.review == nil ? "no one" : "≥ " + number("model", "decision_bands/review")
            case .allow: from = "below"
            }
            rows += "<tr><th>\(decision.rawValue)</th><td>\(from)</td><td>\(computed("bands/\(decision.rawValue)/users", Double(users.count), digits: 0))</td>"
                + "<td>\(computed("bands/\(decision.rawValue)/fakes", Double(fakes), digits: 0))</td>"
                + "<td>\(computed("bands/\(decision.rawValue)/precision", users.isEmpty ? nil : Double(fakes) / Double(users.count), digits: 3))</td></tr>"
        }
        let chosen = "decision_bands/chosen_on"
        let note = "<p class=\"note\">Chosen on \(number("model", "\(chosen)/folds", digits: 0, count: true))-fold out-of-fold scores of "
            + "\(number("model", "\(chosen)/users", count: true)) training users: block where precision reaches \(number("model", "\(chosen)/precision", digits: -1)) "
            + "(\(number("model", "\(chosen)/blocked", count: true)) users, \(number("model", "\(chosen)/blocked_fakes", count: true)) fakes), "
            + "review at most a share \(number("model", "\(chosen)/capacity", digits: -1)) below "
            + "(\(number("model", "\(chosen)/reviewed", count: true)) users, \(number("model", "\(chosen)/reviewed_fakes", count: true)) fakes). "
            + "The Decision column of fu-score, fu-watch and fu-serve; Fake stays the threshold's.</p>"
        return "<table class=\"kv\"><tr><th>decision</th><th>probability</th><th>test users</th><th>fakes</th><th>precision</th></tr>\(rows)</table>" + note
    }
}

/// An axis top of 1, 2, 2.5 or 5 × 10^k at or above `value` (1 for nothing), and the step
/// of its five intervals.
func niceAxis(_ value: Double) -> (top: Double, step: Double) {
    guard value > 0, value.isFinite else { return (1, 0.2) }
    let power = pow(10, (log10(value)).rounded(.down))
    let top = [1, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= value * (1 - 1e-12) } ?? 10 * power
    return (top, top / 5)
}
