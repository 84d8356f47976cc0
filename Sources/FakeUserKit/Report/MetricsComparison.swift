/// This run's test metrics beside a previous run's (`fu-report --baseline`), as
/// `dvc metrics diff` shows them: each metric's old value, new value and change.
public struct MetricsComparison: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var metric: String
        /// Where it is in a metrics file, as the report's keys say it (`1/precision`).
        public var key: String
        /// A count (false positives), shown whole.
        public var isCount: Bool { key.hasPrefix("confusion_matrix") }
        public var old: Double?
        public var new: Double?
        public var change: Double? { old.flatMap { old in new.map { $0 - old } } }
    }

    public var rows: [Row]

    /// The metrics compared: a name for people and the path in a metrics file.
    static let compared: [(name: String, path: [String])] = [
        ("precision (fake)", ["1", "precision"]), ("recall (fake)", ["1", "recall"]), ("F1 (fake)", ["1", "f1-score"]),
        ("accuracy", ["accuracy"]), ("balanced accuracy", ["balanced_accuracy"]), ("ROC AUC", ["roc_auc"]),
        ("average precision", ["average_precision"]), ("log loss", ["log_loss"]), ("Brier score", ["brier_score"]),
        ("Matthews correlation", ["matthews_corrcoef"]), ("threshold", ["threshold"]),
        ("false positives", ["confusion_matrix", "0", "1"]), ("false negatives", ["confusion_matrix", "1", "0"]),
    ]

    /// Both are metrics objects (fu-score's `--metrics`, or train.sh's `test_metrics`).
    /// A metric neither has is left out; one only one side has shows a blank on the other.
    public init(old: JSONValue, new: JSONValue) {
        rows = Self.compared.compactMap { name, path in
            let row = Row(metric: name, key: path.joined(separator: "/"), old: Self.value(old, path), new: Self.value(new, path))
            return row.old == nil && row.new == nil ? nil : row
        }
    }

    /// A previous run's test metrics from its metrics file (fu-score's `--metrics`, or
    /// train.sh's, whose `test_metrics` are then used): exit 65 for a file that has none of
    /// the metrics compared.
    public static func baseline(_ path: String) throws -> JSONValue {
        let document = try readFiniteJSON(path, what: "baseline metrics file")
        let old = document["test_metrics"] ?? document
        guard compared.contains(where: { value(old, $0.path) != nil }) else {
            throw ToolError.data(
                "the baseline has none of the metrics compared (precision, recall, roc_auc, …): give fu-score's --metrics file or train.sh's metrics file",
                at: InputLocation(file: path))
        }
        return old
    }

    static func value(_ document: JSONValue, _ path: [String]) -> Double? {
        var value: JSONValue? = document
        for key in path {
            if let index = Int(key), let items = value?.arrayValue {
                value = index < items.count ? items[index] : nil
            } else {
                value = value?[key]
            }
        }
        return value?.doubleValue
    }

    /// The terminal table: metric, old, new, change (signed; 0 when none), rates with
    /// four decimals, counts whole.
    public var text: String {
        let width = max(rows.map(\.metric.count).max() ?? 0, "metric".count)
        func cell(_ value: Double?, count: Bool, signed: Bool = false) -> String {
            guard let value else { return "-" }
            if signed && value == 0 { return "0" }
            let text = count ? shortest(value) : fixedDecimals(value, 4)
            return signed && value > 0 ? "+" + text : text
        }
        func line(_ cells: [String]) -> String {
            cells[0].padding(width) + cells.dropFirst().map { String(repeating: " ", count: max(1, 11 - $0.count)) + $0 }.joined() + "\n"
        }
        return line(["metric", "old", "new", "change"])
            + rows.map { row in
                line([row.metric, cell(row.old, count: row.isCount), cell(row.new, count: row.isCount), cell(row.change, count: row.isCount, signed: true)])
            }.joined()
    }
}
