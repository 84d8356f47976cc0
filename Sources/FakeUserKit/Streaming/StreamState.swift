/// fu-watch's saved state (`--state FILE`): the vocabularies, each user's counters, and how
/// many input events it has consumed, so that a feeder can resume after them. One JSON
/// object, written atomically (temporary file, then rename), checked whole when loaded: a
/// damaged state, or one made for a model with other per-type columns, is an error naming
/// the file, never an empty start.
extension StreamScorer {
    static let stateFormat = "fu-watch-state"
    static let stateVersion = 1

    /// The state as JSON. Users are listed from the least to the most recently active, so
    /// that loading rebuilds the eviction order.
    public var stateJSON: JSONValue {
        func pairs(_ items: [(Int, Int)]) -> JSONValue { .array(items.map { .array([.integer($0.0), .integer($0.1)]) }) }
        let banded = model.decisionBands != nil
        let users: [JSONValue] = slotsByActivity().map { slot in
            let eventCounts = (0..<events.count).compactMap { e -> (Int, Int)? in
                let n = counts.eventCount(user: slot, event: e)
                return n > 0 ? (e, n) : nil
            }
            let categoryCounts = (0..<categories.count).compactMap { c -> (Int, Int)? in
                let n = counts.categoryCount(user: slot, category: c)
                return n > 0 ? (c, n) : nil
            }
            return .object([
                ("id", .string(String(decoding: index.id(slot), as: UTF8.self))),
                ("last_seen", .integer(activity[slot].lastSeen)),
                ("flagged", .bool(verdicts[slot].fake)),
            ] + (banded ? [("decision", .string(verdicts[slot].decision.rawValue))] : []) + [
                ("events", pairs(eventCounts)),
                ("categories", pairs(categoryCounts)),
                ("pairs", pairs(counts.pairs(user: slot).map { ($0.event, $0.category) })),
            ])
        }
        return .object([
            ("format", .string(StreamScorer.stateFormat)),
            ("version", .integer(StreamScorer.stateVersion)),
            ("events_consumed", .integer(consumed)),
            ("evictions", .integer(evictions)),
            ("model_event_type_columns", .array(model.eventTypeColumns.map { .string($0) })),
            ("event_types", .array((0..<events.count).map { .string(events.name($0)) })),
            ("categories", .array((0..<categories.count).map { .string(categories.name($0)) })),
            ("users", .array(users)),
        ])
    }

    /// Writes the state to `path` atomically.
    public func save(to path: String) throws {
        let output = try ByteOutput(path: path)
        try output.write(stateJSON.rendered())
        try output.commit()
    }

    /// Loads a saved state into this (new) scorer.
    public func load(from path: String) throws {
        let input = try ByteInput(path: path)
        input.limit = 1 << 34  // a state grows with users (about 100 bytes each); /dev/zero must still end
        try load(bytes: try input.readAll(), name: path)
    }

    /// Loads a saved state's bytes (plain, decoded); `name` goes into errors.
    public func load(bytes: [UInt8], name path: String) throws {
        let document = try parseJSON(bytes, name: path, what: "state")
        func fail(_ message: String) -> ToolError { ToolError.data("invalid state: \(message)", at: InputLocation(file: path)) }
        guard document["format"]?.stringValue == StreamScorer.stateFormat else { throw fail("not an fu-watch state (format tag is not '\(StreamScorer.stateFormat)')") }
        guard document["version"]?.intValue == StreamScorer.stateVersion else { throw fail("version is not \(StreamScorer.stateVersion)") }
        func names(_ key: String) throws -> [String] {
            guard let items = document[key]?.arrayValue else { throw fail("'\(key)' is missing") }
            let result = try items.map { item -> String in
                guard let name = item.stringValue, !name.isEmpty else { throw fail("'\(key)' must hold names") }
                return name
            }
            guard Set(result).count == result.count else { throw fail("'\(key)' names one twice") }
            return result
        }
        let columns = try names("model_event_type_columns")
        guard columns == model.eventTypeColumns else {
            throw fail("it was made with a model whose event vocabulary differs (per-type columns \(columns.joined(separator: ",")), this model has \(model.eventTypeColumns.joined(separator: ",")))")
        }
        let eventNames = try names("event_types"), categoryNames = try names("categories")
        // As the parser refuses them: such a type's columns would clash with others.
        if let problem = eventNames.lazy.compactMap(FeatureSet.eventTypeNameProblem).first { throw fail("'event_types': \(problem)") }
        guard eventNames.count <= EventRowParser.maxEventTypes, categoryNames.count <= EventRowParser.maxCategories else { throw fail("more event types or categories than the limits") }
        guard let consumedCount = document["events_consumed"]?.intValue, consumedCount >= 0 else { throw fail("'events_consumed' is missing") }
        guard let users = document["users"]?.arrayValue else { throw fail("'users' is missing") }
        func pairs(_ value: JSONValue?, _ what: String, first: Int, second: Int?) throws -> [(Int, Int)] {
            guard let items = value?.arrayValue else { throw fail("a user's '\(what)' is missing") }
            let result = try items.map { item in
                guard let pair = item.arrayValue, pair.count == 2, let a = pair[0].intValue, let b = pair[1].intValue,
                      (0..<first).contains(a), second.map({ (0..<$0).contains(b) }) ?? (b > 0 && b <= UInt32.max)
                else { throw fail("a user's '\(what)' holds a bad entry") }
                return (a, b)
            }
            // A count given twice would be restored as its last, past the check that the
            // counts add up (a category could then outnumber the user's events).
            let keys = result.map { second == nil ? $0.0 : $0.0 << 8 | $0.1 }
            guard Set(keys).count == keys.count else { throw fail("a user's '\(what)' names one twice") }
            return result
        }
        var previousSeen = 0
        restoreConsumed(consumedCount)
        events = Vocabulary(eventNames)
        categories = Vocabulary(categoryNames)
        for user in users {
            guard var id = user["id"]?.stringValue, !id.isEmpty,
                  id.withUTF8({ index.find($0, hash: SlotIndex.hash($0)) }) == nil
            else { throw fail("a user has no id, or one given twice") }
            guard let seen = user["last_seen"]?.intValue, seen >= previousSeen, seen <= consumedCount else { throw fail("user '\(id)' has a bad 'last_seen'") }
            guard let isFlagged = user["flagged"]?.boolValue else { throw fail("user '\(id)' has no 'flagged'") }
            // Saved with a model without bands, or by an fu before them: allow until rescored.
            var decision = Decision.allow
            if let text = user["decision"], text != .null {
                guard let saved = text.stringValue.flatMap(Decision.init(rawValue:)) else { throw fail("user '\(id)' has a 'decision' that is not allow, review or block") }
                decision = saved
            }
            previousSeen = seen
            let eventCounts = try pairs(user["events"], "events", first: eventNames.count, second: nil)
            let categoryCounts = try pairs(user["categories"], "categories", first: categoryNames.count, second: nil)
            let seenPairs = try pairs(user["pairs"], "pairs", first: eventNames.count, second: categoryNames.count)
            guard !eventCounts.isEmpty, eventCounts.reduce(0, { $0 + $1.1 }) == categoryCounts.reduce(0, { $0 + $1.1 }) else {
                throw fail("user '\(id)' has counts that do not add up")
            }
            id.withUTF8 { bytes in
                restoreUser(bytes, lastSeen: seen, verdict: Verdict(fake: isFlagged, decision: decision), events: eventCounts, categories: categoryCounts, pairs: seenPairs)
            }
        }
        guard userCount <= options.maxUsers else { throw fail("it holds \(userCount) users, more than --max-users \(options.maxUsers)") }
        // Decided again with this run's model and rules: the saved decisions may be another's.
        rescoreAll()
    }
}
