/// How far a PSI has moved, in credit-risk practice's bands: below 0.1 stable, from 0.1
/// a moderate shift to watch, from 0.25 a significant one.
public enum DriftLevel: String, Sendable {
    case stable
    case moderate
    case significant

    public static let moderateFrom = 0.1
    public static let significantFrom = 0.25

    public init(psi: Double) {
        self = psi >= Self.significantFrom ? .significant : psi >= Self.moderateFrom ? .moderate : .stable
    }
}

/// One feature's population stability against its training distribution.
public struct FeatureDrift: Sendable, Equatable {
    public var feature: String
    /// nil when the feature was constant in training: no bin can move then.
    public var psi: Double?
    public var edges: [Double]
    public var trainingShares: [Double]
    /// Before the 1e-4 floor.
    public var newShares: [Double]
    public var note: String?

    public var level: DriftLevel? { psi.map(DriftLevel.init(psi:)) }

    /// From the new values' count in each bin of `distribution`. For a feature constant in
    /// training, `differing` counts the new values that are not that constant, when known.
    public init(feature: String, distribution: FeatureDistribution, counts: [Int], missing: Bool = false, differing: Int? = nil) {
        self.feature = feature
        edges = distribution.edges
        trainingShares = distribution.shares
        newShares = distribution.shares(counts: counts)
        let value = shortest(distribution.minimum)
        if distribution.isConstant {
            psi = nil
            note = "constant in training (every value \(value)): its drift cannot be measured; left out of the overall"
            // Bins cannot show it, but a constant that stopped being one is news (a new event type).
            let users = counts.reduce(0, +)
            if let differing, differing > 0, users > 0 {
                note! += "; \(groupedDigits(differing)) of the \(groupedDigits(users)) users (\(fixedDecimals(100 * Double(differing) / Double(users), 1))%) differ from it"
            }
        } else {
            psi = distribution.stabilityIndex(newShares: newShares)
            if missing {
                note = "not in the table: read as 0, as fu-score reads it"
            } else if distribution.edges.count == 1 {
                note = "every training decile is \(shortest(distribution.edges[0])): only values crossing it show"
            }
        }
    }
}

/// fu-drift's answer: each feature's PSI and the overall one, the mean over the features
/// whose PSI can be measured (docs/design.md, Drift).
public struct DriftReport: Sendable, Equatable {
    public var users: Int
    public var trainingUsers: Int
    public var features: [FeatureDrift]

    public init(users: Int, trainingUsers: Int, features: [FeatureDrift]) {
        self.users = users
        self.trainingUsers = trainingUsers
        self.features = features
    }

    /// The new users of `table` (in the model's feature order) against the model's training
    /// distribution; `missing` names the columns the table lacked (read as 0).
    public init(model: Model, table: FeatureTable, missing: Set<String> = []) throws {
        let distribution = try model.requireTrainingDistribution()
        guard table.rowCount > 0 else { throw ToolError.data("no users to compare with the training data") }
        let width = table.featureCount
        var features: [FeatureDrift] = []
        for (f, name) in model.features.enumerated() {
            let bins = distribution.features[f]
            var counts = [Int](repeating: 0, count: bins.binCount)
            var differing = 0
            for row in 0..<table.rowCount {
                let value = table.values[row * width + f]
                counts[bins.bin(value)] += 1
                if value != bins.minimum { differing += 1 }
            }
            features.append(FeatureDrift(
                feature: name, distribution: bins, counts: counts, missing: missing.contains(name),
                differing: bins.isConstant ? differing : nil))
        }
        self.init(users: table.rowCount, trainingUsers: model.training.rows, features: features)
    }

    public var measured: [FeatureDrift] { features.filter { $0.psi != nil } }

    /// The mean PSI over the features it is measured for; nil when none is.
    public var overall: Double? {
        let values = measured.compactMap(\.psi)
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// The features whose PSI is above `limit`, largest first (`--fail-above`).
    public func above(_ limit: Double) -> [FeatureDrift] {
        measured.filter { $0.psi! > limit }.sorted { $0.psi! > $1.psi! }
    }

    public var json: JSONValue {
        .object([
            ("users", .integer(users)),
            ("training_users", .integer(trainingUsers)),
            ("overall_psi", .finite(overall)),
            ("overall", .string("mean over the \(measured.count) features whose PSI is measured")),
            ("bands", .object([("moderate", .number(DriftLevel.moderateFrom)), ("significant", .number(DriftLevel.significantFrom))])),
            ("features", .array(features.map { drift in
                .object([
                    ("feature", .string(drift.feature)),
                    ("psi", .finite(drift.psi)),
                    ("level", drift.level.map { .string($0.rawValue) } ?? .null),
                    ("edges", .numbers(drift.edges)),
                    ("training_shares", .numbers(drift.trainingShares)),
                    ("new_shares", .numbers(drift.newShares)),
                    ("note", drift.note.map { .string($0) } ?? .null),
                ])
            })),
        ])
    }

    /// The terminal table: a row per feature, its PSI to four decimals and its band past
    /// stable, then the overall PSI and what the bands mean.
    public var text: String {
        let overallLabel = "overall (mean of \(measured.count))"
        let width = max(features.map(\.feature.count).max() ?? 0, overallLabel.count, "feature".count)
        func row(_ name: String, _ psi: Double?, _ remark: String) -> String {
            let number = psi.map { fixedDecimals($0, 4) } ?? "-"
            let line = name.padding(width) + "  " + String(repeating: " ", count: max(0, 7 - number.count)) + number
            return (remark.isEmpty ? line : line + "  " + remark) + "\n"
        }
        var out = "feature".padding(width) + "      PSI\n"
        for drift in features {
            let band = drift.level.flatMap { $0 == .stable ? nil : "\($0.rawValue) shift" }
            out += row(drift.feature, drift.psi, [band, drift.note].compactMap { $0 }.joined(separator: "; "))
        }
        out += row(overallLabel, overall, overall.map { DriftLevel(psi: $0) == .stable ? "" : "\(DriftLevel(psi: $0).rawValue) shift" } ?? "")
        out += "\(groupedDigits(users)) users against \(groupedDigits(trainingUsers)) in training; "
            + "PSI below \(DriftLevel.moderateFrom) stable, from \(DriftLevel.moderateFrom) moderate, from \(DriftLevel.significantFrom) significant shift\n"
        return out
    }
}

/// fu-drift's input: feature tables (files as `expandInputs` lists them, "-" for stdin)
/// read as one population in the model's columns. `missing` names the per-event-type
/// columns some table lacked (read as 0 there, as fu-score reads them).
public func readPopulation(_ paths: [String], model: Model, skipBadRows: Bool = false) throws
    -> (table: FeatureTable, missing: Set<String>, skippedRows: Int)
{
    var population = FeatureTable(ids: [], labels: nil, names: model.features, values: [])
    var missing: Set<String> = [], skipped = 0
    for path in paths {
        let reader = try TableReader(ByteInput(path: path == "-" ? nil : path), skipBadRows: skipBadRows)
        let match = try FeatureMatch(model: model, reader: reader)
        let table = try FeatureTable.read(reader, features: model.features, fillMissing: Set(match.filledWithZero))
        population.ids += table.ids
        population.values += table.values
        missing.formUnion(match.filledWithZero)
        skipped += reader.skippedRows
    }
    return (population, missing, skipped)
}

extension Model {
    /// The training distribution, or the error a tool that needs it gives.
    public func requireTrainingDistribution() throws -> TrainingDistribution {
        guard let trainingDistribution else {
            throw ToolError.data("the model has no training distribution (fitted before fu kept one): refit it with fu-fit to measure drift")
        }
        return trainingDistribution
    }
}

extension String {
    /// Padded with spaces on the right to `width` characters.
    func padding(_ width: Int) -> String {
        self + String(repeating: " ", count: max(0, width - count))
    }
}

