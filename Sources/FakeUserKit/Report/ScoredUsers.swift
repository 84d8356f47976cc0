/// Users with a known label and a predicted probability: the test predictions joined with
/// their truth, or fu-cv's out-of-fold predictions.
public struct ScoredUsers: Sendable, Equatable {
    public var ids: [String]
    public var labels: [UInt8]
    public var probabilities: [Double]
    /// fu-cv's fold of each user (out-of-fold predictions only).
    public var folds: [Int]?

    public init(ids: [String], labels: [UInt8], probabilities: [Double], folds: [Int]? = nil) {
        self.ids = ids
        self.labels = labels
        self.probabilities = probabilities
        self.folds = folds
    }

    public var count: Int { ids.count }
    public var positives: Int { labels.reduce(0) { $0 + Int($1) } }

    /// fu-score's predictions (UserId and Probability; its Fake is a prediction, not read)
    /// joined by UserId with any table that holds the truth as UserId and Fake: fu-split's
    /// `--truth` file, the labelled features that were scored, or the labelled events.
    public static func read(predictions: String, truth: String) throws -> ScoredUsers {
        let truthByUser = try readTruth(truth)
        let reader = try TableReader(ByteInput(path: predictions))
        let idColumn = try reader.requireColumn("UserId")
        let probabilityColumn = try reader.requireColumn("Probability")
        var users = ScoredUsers(ids: [], labels: [], probabilities: [])
        var seen = Set<String>()
        while let row = try reader.next() {
            let id = row.string(idColumn)
            guard seen.insert(id).inserted else {
                throw ToolError.data("user '\(id)' is predicted twice", at: reader.location(line: row.line))
            }
            guard let label = truthByUser[id] else {
                throw ToolError.data("user '\(id)' has no truth in \(truth) (it needs UserId and Fake for every predicted user)",
                                     at: reader.location(line: row.line))
            }
            users.ids.append(id)
            users.labels.append(label)
            users.probabilities.append(try probability(row, probabilityColumn, reader))
        }
        guard users.count > 0 else { throw ToolError.data("no predictions", at: reader.location()) }
        return users
    }

    /// fu-cv's `--oof` file: UserId, Fake (the true label), Probability, fold.
    public static func readOutOfFold(_ path: String) throws -> ScoredUsers {
        let reader = try TableReader(ByteInput(path: path))
        let idColumn = try reader.requireColumn("UserId")
        let labelColumn = try reader.requireColumn("Fake")
        let probabilityColumn = try reader.requireColumn("Probability")
        let foldColumn = try reader.requireColumn("fold")
        var users = ScoredUsers(ids: [], labels: [], probabilities: [], folds: [])
        while let row = try reader.next() {
            guard let label = try reader.label(row, column: labelColumn) else { continue }
            guard let fold = Int(row.string(foldColumn)), fold >= 0 else {
                throw ToolError.data("fold must be a whole number, found '\(row.string(foldColumn))'", at: reader.location(line: row.line))
            }
            users.ids.append(row.string(idColumn))
            users.labels.append(label)
            users.probabilities.append(try probability(row, probabilityColumn, reader))
            users.folds?.append(fold)
        }
        guard users.count > 0 else { throw ToolError.data("no out-of-fold predictions", at: reader.location()) }
        return users
    }

    /// UserId → Fake; a user may have several rows (events) if its label never changes.
    public static func readTruth(_ path: String) throws -> [String: UInt8] {
        let reader = try TableReader(ByteInput(path: path))
        let idColumn = try reader.requireColumn("UserId")
        guard let labelColumn = try reader.labelColumn() else {
            throw ToolError.data("missing required column 'Fake' (the truth file needs UserId and Fake)", at: reader.location(line: 1))
        }
        var truth: [String: UInt8] = [:]
        while let row = try reader.next() {
            guard let label = try reader.label(row, column: labelColumn) else { continue }
            let id = row.string(idColumn)
            if let previous = truth.updateValue(label, forKey: id), previous != label {
                throw reader.labelConflict(userID: row.field(idColumn), previous: previous, label: label, line: row.line)
            }
        }
        return truth
    }

    private static func probability(_ row: Row, _ column: Int, _ reader: TableReader) throws -> Double {
        guard let value = parseDouble(row.field(column)), (0...1).contains(value) else {
            throw ToolError.data("Probability must be a number from 0 to 1, found '\(row.string(column))'", at: reader.location(line: row.line))
        }
        return value
    }
}
