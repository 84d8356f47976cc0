/// A model's feature row from one user's counters: the values fu-featurize would write for
/// the same events (`FeatureSet.values`), picked in the model's feature order. fu-watch and
/// the stream policy search (`PolicySearch`) score users mid-history through it.
final class CounterRows {
    private let features: [String]
    /// The features of the current vocabularies, and where each model feature is among them.
    /// A class: copying the struct out per event retained each of its arrays.
    private final class Columns {
        let set: FeatureSet
        let modelColumns: [Int]
        init(set: FeatureSet, modelColumns: [Int]) { (self.set, self.modelColumns) = (set, modelColumns) }
    }
    private var columns: Columns?
    private var knownEvents = -1
    private var knownCategories = -1

    init(features: [String]) { self.features = features }

    /// Fills `row` (the model's features) with the user's values; returns its events seen.
    /// `events` and `categories` are the parser's vocabularies: those when the event was
    /// read, or later ones (types and categories the user has not shown change no value).
    @inline(__always)
    func fill(_ row: inout [Double], user: Int, counts: EventCounts, events: Vocabulary, categories: Vocabulary) -> Int {
        if isStale(events: events.count, categories: categories.count) { prepare(events: events, categories: categories) }
        return fill(&row, user: user, counts: counts)
    }

    /// Whether vocabularies of these sizes need `prepare` first.
    @inline(__always)
    func isStale(events: Int, categories: Int) -> Bool { events != knownEvents || categories != knownCategories }

    /// The columns fu-featurize would make for these vocabularies (on a new type or category: rare).
    func prepare(events: Vocabulary, categories: Vocabulary) {
        let set = FeatureSet(events: events, categories: categories, columnEvents: events.idsSortedByName())
        let position = Dictionary(uniqueKeysWithValues: set.columnNames.enumerated().map { ($1, $0) })
        columns = Columns(set: set, modelColumns: features.map { position[$0] ?? -1 })  // a type not seen yet reads as 0
        knownEvents = events.count
        knownCategories = categories.count
    }

    /// The same for the vocabularies last prepared. Takes no vocabulary, so that a caller
    /// per event (fu-watch) need not retain one's arrays to pass it.
    @inline(__always)
    func fill(_ row: inout [Double], user: Int, counts: EventCounts) -> Int {
        let columns = columns!
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: columns.set.columnNames.count) { values in
            columns.set.values(user: user, counts: counts, into: values)
            for (f, column) in columns.modelColumns.enumerated() { row[f] = column < 0 ? 0 : values[column] }
            return Int(values[0])  // total_events
        }
    }
}
