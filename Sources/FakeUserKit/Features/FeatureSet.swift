#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The event types of the real data, used as the fixed vocabulary when the columns must be
/// known before reading (`--sorted` without `--events`).
public let standardEventTypes = ["click_ad", "click_carrousel", "phone_call", "send_email", "send_sms"]

/// The feature columns for a given event vocabulary, and the arithmetic that fills them.
/// Every definition here is documented in docs/reference.md ("Features").
struct FeatureSet {
    /// Event ids with a count (and a ratio) column, in column order.
    let columnEvents: [Int]
    let columnNames: [String]
    private let clickAd: Int?
    private let sendEmail: Int?
    private let clickCarrousel: Int?
    /// Event ids of the per-type ratio columns beyond the reference's two.
    private let extraRatioEvents: [Int]
    /// Summation orders (by name) for entropies, so results do not depend on file order.
    private let eventOrder: [Int]
    private let categoryOrder: [Int]
    /// Which columns hold counts (written as integers).
    private let isCount: [Bool]

    static let referenceNames = [
        "total_events", "click_ad_ratio", "send_email_ratio", "unique_categories", "category_repeat_ratio",
    ]
    static let extendedNames = [
        "click_ratio", "unique_events", "event_entropy", "category_entropy",
        "top_category_share", "unique_event_category_pairs",
    ]

    init(events: Vocabulary, categories: Vocabulary, columnEvents: [Int]) {
        self.columnEvents = columnEvents
        clickAd = events.lookup("click_ad")
        sendEmail = events.lookup("send_email")
        clickCarrousel = events.lookup("click_carrousel")
        extraRatioEvents = columnEvents.filter { $0 != events.lookup("click_ad") && $0 != events.lookup("send_email") }
        eventOrder = events.idsSortedByName()
        categoryOrder = categories.idsSortedByName()
        columnNames = FeatureSet.columnNames(types: columnEvents.map { events.name($0) })
        isCount = [true, false, false, true, false] + Array(repeating: true, count: columnEvents.count)
            + Array(repeating: false, count: extraRatioEvents.count) + [false, true, false, false, false, true]
    }

    /// The feature columns for per-type columns of `types`, in this order: the reference
    /// names, a count per type, a ratio per type other than the reference's two, the rest.
    static func columnNames(types: [String]) -> [String] {
        referenceNames + types + ratioNames(types: types) + extendedNames
    }

    static func ratioNames(types: [String]) -> [String] {
        types.filter { !referenceRatioTypes.contains($0) }.map { $0 + "_ratio" }
    }

    /// The types whose ratio is a reference column.
    static let referenceRatioTypes = ["click_ad", "send_email"]

    /// The columns of `header` that fu-featurize makes per event type: a count `T` beside
    /// its ratio `T_ratio` (or beside the reference ratios of click_ad and send_email),
    /// and that ratio; and the count of a type of the real data (the reference features
    /// have counts without ratios). A column of the user's own (`account_age_days`) is not one: only
    /// per-type columns may be missing from a table and read as 0 (docs/design.md, "Names").
    static func perEventTypeColumns(_ header: [String]) -> Set<String> {
        let names = Set(header)
        let fixed = Set(referenceNames + extendedNames + keyColumns)
        var result = Set<String>()
        for name in header where !fixed.contains(name) && (names.contains(name + "_ratio") || standardEventTypes.contains(name)) {
            result.insert(name)
            if !referenceRatioTypes.contains(name) && names.contains(name + "_ratio") { result.insert(name + "_ratio") }
        }
        return result
    }

    /// Why an event type cannot be one, or nil: its columns would be read as another
    /// column (`phone_call_ratio` as phone_call's ratio, `Fake` as the label,
    /// `total_events` as the feature).
    static func eventTypeNameProblem(_ name: String) -> String? {
        if let key = keyColumns.first(where: { $0.lowercased() == name.lowercased() }) {
            return "event type '\(name)' is named like the \(key == "Fake" ? "label" : "key") column '\(key)'"
        }
        if referenceNames.contains(name) || extendedNames.contains(name) {
            return "event type '\(name)' is named like the feature column '\(name)'"
        }
        if name.hasSuffix("_ratio") {
            return "event type '\(name)' would be read as the ratio column of event type '\(name.dropLast(6))'"
        }
        // Its ratio column would be a fixed feature's (`click` → `click_ratio`).
        if !referenceRatioTypes.contains(name), referenceNames.contains(name + "_ratio") || extendedNames.contains(name + "_ratio") {
            return "event type '\(name)' would make a ratio column '\(name)_ratio', named like the feature column '\(name)_ratio'"
        }
        return nil
    }

    /// What each column is, in `columnNames` order: the same definitions as `values`, as
    /// data, for a scorer that updates a linear model's sum per event (`PrefixScorer`).
    /// A test holds the two equal.
    enum Column: Equatable {
        case totalEvents
        /// The summed counts of these types over total_events.
        case share([Int])
        case count(Int)
        case uniqueCategories, eventsPerCategory, uniqueEvents, eventEntropy, categoryEntropy, topCategoryShare, distinctPairs
    }

    var columns: [Column] {
        let clicks = [clickAd, clickCarrousel].compactMap { $0 }
        return [.totalEvents, .share(clickAd.map { [$0] } ?? []), .share(sendEmail.map { [$0] } ?? []), .uniqueCategories, .eventsPerCategory]
            + columnEvents.map { .count($0) } + extraRatioEvents.map { .share([$0]) }
            + [.share(clicks), .uniqueEvents, .eventEntropy, .categoryEntropy, .topCategoryShare, .distinctPairs]
    }

    /// Writes one user's feature values, in `columnNames` order; counts print as integers.
    func write(user: Int, counts: EventCounts, to writer: TableWriter) throws {
        try withUnsafeTemporaryAllocation(of: Double.self, capacity: columnNames.count) { row in
            values(user: user, counts: counts, into: row)
            try writeFields(row, to: writer)
        }
    }

    /// Writes a whole row, ended: the UserId, its Fake (if any) and its feature values, the
    /// same bytes as those fields one by one, in one call where it can (`TableWriter.numberRow`).
    func writeRow<Counts: OneUserCounts>(id: UnsafeBufferPointer<UInt8>, label: Int?, counts: Counts, to writer: TableWriter) throws {
        try withUnsafeTemporaryAllocation(of: Double.self, capacity: columnNames.count) { row in
            values(counts, into: row)
            let written = try isCount.withUnsafeBufferPointer {
                try writer.numberRow(text: id, integer: label, values: UnsafeBufferPointer(row), integral: $0)
            }
            if written { return }
            try writer.field(bytes: id)
            if let label { try writer.field(label) }
            try writeFields(row, to: writer)
            try writer.endRow()
        }
    }

    private func writeFields(_ row: UnsafeMutableBufferPointer<Double>, to writer: TableWriter) throws {
        for (column, value) in row.enumerated() {
            if isCount[column] { try writer.field(Int(value)) } else { try writer.field(value) }
        }
    }


    /// A share count / total, and its entropy term p·log(p): from tables while count ≤
    /// total < 64 (fu-watch scores every prefix of a history, and most are short), else
    /// computed. Each entry is the same arithmetic on the same numbers, so the value is the
    /// same to the bit; a division per share was a fifth of fu-watch's time per event.
    @inline(__always)
    static func share(_ count: Int, of total: Int, _ table: UnsafePointer<Double> = tables.shares) -> Double {
        total < 64 && count <= total ? table[total << 6 | count] : Double(count) / Double(total)
    }

    @inline(__always)
    static func entropyTerm(_ count: Int, of total: Int, _ table: UnsafePointer<Double> = tables.entropyTerms) -> Double {
        guard total < 64 && count <= total else {
            let p = Double(count) / Double(total)
            return p * log(p)
        }
        return table[total << 6 | count]
    }

    /// Entry n << 6 | c: c / n, and p·log(p) for p = c / n (0 for c = 0), for c ≤ n < 64 (0
    /// elsewhere). Made once and never freed; each `FeatureSet` keeps the pointers, as a
    /// static is checked for its initialisation at every read. Read-only once made.
    nonisolated(unsafe) static let tables: (shares: UnsafePointer<Double>, entropyTerms: UnsafePointer<Double>) = {
        let shares = UnsafeMutablePointer<Double>.allocate(capacity: 4096)
        let terms = UnsafeMutablePointer<Double>.allocate(capacity: 4096)
        for entry in 0..<4096 {
            let (n, c) = (entry >> 6, entry & 63)
            let p = Double(c) / Double(n)
            shares[entry] = c > n ? 0 : p
            terms[entry] = c == 0 || c > n ? 0 : p * log(p)
        }
        return (UnsafePointer(shares), UnsafePointer(terms))
    }()
    private let shareTable = FeatureSet.tables.shares
    private let entropyTable = FeatureSet.tables.entropyTerms

    /// One user's feature values, in `columnNames` order: what fu-featurize writes and what
    /// a stream scorer (fu-watch) scores, the same arithmetic for both.
    func values(user: Int, counts: EventCounts, into row: UnsafeMutableBufferPointer<Double>) {
        values(counts.counts(of: user), into: row)
    }

    /// The same from one user's counts, wherever they are kept.
    @inline(__always)
    func values<Counts: OneUserCounts>(_ counts: Counts, into row: UnsafeMutableBufferPointer<Double>) {
        var total = 0
        var uniqueEvents = 0
        var eventEntropy = 0.0
        for event in eventOrder {
            let count = counts.events(event)
            total += count
            if count > 0 { uniqueEvents += 1 }
        }
        let totalValue = Double(total)
        var uniqueCategories = 0
        var topCategory = 0
        var categoryEntropy = 0.0
        for event in eventOrder {
            let count = counts.events(event)
            if count > 0 { eventEntropy -= FeatureSet.entropyTerm(count, of: total, entropyTable) }
        }
        for category in categoryOrder {
            let count = counts.category(category)
            guard count > 0 else { continue }
            uniqueCategories += 1
            topCategory = max(topCategory, count)
            categoryEntropy -= FeatureSet.entropyTerm(count, of: total, entropyTable)
        }
        func share(_ event: Int?) -> Double {
            guard let event else { return 0 }
            return FeatureSet.share(counts.events(event), of: total, shareTable)
        }
        var column = 0
        func put(_ value: Double) {
            row[column] = value
            column += 1
        }
        put(totalValue)
        put(share(clickAd))
        put(share(sendEmail))
        put(Double(uniqueCategories))
        put(totalValue / Double(uniqueCategories))
        for event in columnEvents { put(Double(counts.events(event))) }
        for event in extraRatioEvents { put(share(event)) }
        let clicks = (clickAd.map { counts.events($0) } ?? 0)
            + (clickCarrousel.map { counts.events($0) } ?? 0)
        put(FeatureSet.share(clicks, of: total, shareTable))
        put(Double(uniqueEvents))
        put(eventEntropy == 0 ? 0 : eventEntropy)
        put(categoryEntropy == 0 ? 0 : categoryEntropy)
        put(FeatureSet.share(topCategory, of: total, shareTable))
        put(Double(counts.distinctPairs))
    }
}

extension FeatureSet {
    /// A feature's meaning in one line, for the report (docs/reference.md has the formulas).
    public static func meaning(of name: String) -> String {
        switch name {
        case "total_events": return "events the user made"
        case "click_ad_ratio": return "share of the user's events that are click_ad"
        case "send_email_ratio": return "share of the user's events that are send_email"
        case "unique_categories": return "distinct categories the user's events fell in"
        case "category_repeat_ratio": return "events per distinct category (total_events / unique_categories)"
        case "click_ratio": return "share of events that are clicks (click_ad or click_carrousel)"
        case "unique_events": return "distinct event types the user made"
        case "event_entropy": return "how evenly the user's events spread over types (0: one type only)"
        case "category_entropy": return "how evenly the user's events spread over categories (0: one category only)"
        case "top_category_share": return "share of events in the user's most frequent category"
        case "unique_event_category_pairs": return "distinct (event type, category) pairs"
        default:
            if name.hasSuffix("_ratio") { return "share of the user's events that are \(name.dropLast("_ratio".count))" }
            return "\(name) events the user made"
        }
    }
}
