/// The parts of the report that explain the model rather than measure it (issue 19): which
/// features move together, the test users it got wrong and why, and what the test set
/// would say at the threshold cross-validation found best.
extension EvaluationReport {
    /// Most users of each kind the mistakes card lists.
    public static let mistakesShown = 20
    /// Reasons shown a listed user.
    static let mistakeReasons = 3

    /// The pairs of features with |r| > 0.8 on the training users, whose coefficients must
    /// be read together.
    var correlatedNote: String {
        guard let summary = inputs.model.featureSummary else {
            return "<p class=\"note missing\">Correlations and means by class: not in this model (fitted by an older fu).</p>"
        }
        guard !summary.correlated.isEmpty else {
            return "<p class=\"note\">No two features have |r| above \(fixed(FeatureSummary.correlationLimit, 1)) on the training users: each coefficient can be read on its own.</p>"
        }
        let names = inputs.model.features
        let pairs = summary.correlated.indices.map { i in
            let pair = summary.correlated[i]
            return "<li><code>\(escapeHTML(names[pair.first]))</code> and <code>\(escapeHTML(names[pair.second]))</code>: r = \(number("model", "feature_summary/correlated/\(i)/r", digits: 3))</li>"
        }
        return """
            <p class="note">These features move together on the training users (|Pearson r| above \(fixed(FeatureSummary.correlationLimit, 1))): their coefficients share one effect and must be read together, not one against the other.</p>
            <ul class="pairs">\(pairs.joined())</ul>
            """
    }

    /// Test precision and recall at the F1-best out-of-fold threshold, beside the model's.
    var bestThresholdNote: String {
        guard let best = inputs.crossValidation?["best_threshold"]?.doubleValue else { return "" }
        let metrics = Metrics(labels: inputs.test.labels, probabilities: inputs.test.probabilities, threshold: best)
        return "<p class=\"note\">At the best out-of-fold threshold \(number("cv", "best_threshold", digits: 3)) the test set would have precision "
            + "\(computed("test_precision_at_best_threshold", metrics.positive.precision)) and recall \(computed("test_recall_at_best_threshold", metrics.positive.recall)) "
            + "(\(computed("test_flagged_at_best_threshold", Double(metrics.confusion[0][1] + metrics.confusion[1][1]), digits: 0)) users flagged).</p>"
    }

    /// The test set's false positives (real users flagged) and false negatives (fakes
    /// missed), most confident first, each with its strongest reasons when the test features
    /// are at hand.
    var mistakesCard: String {
        let test = inputs.test, threshold = inputs.threshold
        let falsePositives = test.ids.indices.filter { test.labels[$0] == 0 && test.probabilities[$0] >= threshold }
            .sorted { test.probabilities[$0] > test.probabilities[$1] }
        let falseNegatives = test.ids.indices.filter { test.labels[$0] == 1 && test.probabilities[$0] < threshold }
            .sorted { test.probabilities[$0] < test.probabilities[$1] }
        let rowOfUser = inputs.testFeatures.map { table in Dictionary(table.ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a }) }
        let reasons = inputs.testFeatures.flatMap { try? Reasons(model: inputs.model, table: $0, k: min(Self.mistakeReasons, inputs.model.features.count)) }
        func list(_ users: [Int], _ title: String, _ id: String) -> String {
            guard !users.isEmpty else { return "<h3>\(title): none</h3>" }
            var rows = ""
            for user in users.prefix(Self.mistakesShown) {
                var why = "<span class=\"missing\">—</span>"
                if let reasons, let row = rowOfUser?[test.ids[user]] {
                    why = reasons.explanation(row: row).map { "<code>\(escapeHTML($0.feature))</code> \(fixed($0.value, 3)) (\($0.contribution >= 0 ? "+" : "")\(fixed($0.contribution, 2)))" }
                        .joined(separator: "; ")
                }
                rows += "<tr><td><code>\(escapeHTML(test.ids[user]))</code></td><td>\(computed("\(id)/\(escapeHTML(test.ids[user]))", test.probabilities[user]))</td><td class=\"why\">\(why)</td></tr>"
            }
            let more = users.count > Self.mistakesShown ? "<p class=\"note\">and \(groupedInteger(users.count - Self.mistakesShown)) more.</p>" : ""
            return "<h3>\(title): \(groupedInteger(users.count))</h3><table class=\"mistakes\" id=\"\(id)\"><tr><th>UserId</th><th>P(fake)</th><th>strongest reasons (value, contribution to the log-odds)</th></tr>\(rows)</table>\(more)"
        }
        let note = inputs.testFeatures == nil
            ? "<p class=\"note\">Reasons need the test users' features: pass the labelled test features as <code>--truth</code> (train.sh does).</p>"
            : "<p class=\"note\">Reasons are each user's largest contributions to the log-odds, as <code>fu-score --explain</code> gives them.</p>"
        let body = list(falsePositives, "Real users flagged (false positives)", "false-positives")
            + list(falseNegatives, "Fakes missed (false negatives)", "false-negatives") + note
        return card("Test users the model got wrong, at threshold \(fixed(threshold, 3))", body, wide: true, id: "mistakes")
    }
}
