/// The categories of the real data.
public let standardCategories = ["Holidays", "Jobs", "Leisure", "Motor", "Phone", "Real_State"]

public struct SynthOptions: Sendable {
    public var users = 5000
    public var seed: UInt64 = 7
    public var fakeRate = 0.056
    /// Share of real (label 0) users that behave like fakes, as in the real data.
    public var lookalikeRate = 0.01
    public var label = true
    public var format = TableFormat.csv

    public init() {}

    /// Memory one user costs at the peak, while the events are shuffled: 20 packed events
    /// of 8 bytes reserved (19.4 on average), its id and label, the set that keeps ids
    /// distinct; about 170 measured, with a margin.
    public static let bytesPerUser = 256

    /// The most users `memory` bytes hold.
    public static func maxUsers(memory: Int) -> Int { memory / bytesPerUser }
}

/// Synthetic events with the shape of the real data (see README.md, "fu-synth"):
/// real users 15–49 events, types uniform, 1–5 favourite categories (2.55 on average);
/// fakes 20–49 events, mostly click_ad and send_email, 4–6 categories (5.3 on average).
public struct Synthesizer {
    public var options: SynthOptions

    public init(options: SynthOptions) {
        self.options = options
    }

    private struct Behaviour {
        var length: (mean: Double, deviation: Double, low: Int, high: Int)
        var eventWeights: [Double]
        var categoryCountWeights: [Double]  // for 1...6 categories
    }

    private static let real = Behaviour(
        length: (15.0, 4.5, 15, 49),
        eventWeights: [1, 1, 1, 1, 1],
        categoryCountWeights: [0.18, 0.32, 0.30, 0.15, 0.05, 0])
    private static let fake = Behaviour(
        length: (34.75, 13.5, 20, 49),
        eventWeights: [0.41, 0.05, 0.05, 0.44, 0.05],
        categoryCountWeights: [0, 0, 0, 0.15, 0.40, 0.45])

    /// Writes the events, CSV with header `UserId,Event,Category[,Fake]` or JSON Lines, all
    /// users' rows shuffled together; returns how many. `progress` shows users made, events
    /// shuffled, then events written.
    public func write(to output: ByteOutput, progress: Progress? = nil) throws -> Int {
        var random = SplitMix64(seed: options.seed)
        let ids = makeIDs(&random)
        var labels = [UInt8](repeating: 0, count: options.users)
        // Each event is packed as user << 8 | event << 4 | category.
        var events: [UInt64] = []
        events.reserveCapacity(options.users * 20)
        for user in 0..<options.users {
            if user & 0xFFFF == 0 { progress?.step("users made", done: user, of: options.users) }
            let isFake = random.unit() < options.fakeRate
            labels[user] = isFake ? 1 : 0
            let behaviour = isFake || random.unit() < options.lookalikeRate ? Self.fake : Self.real
            let length = drawLength(behaviour, &random)
            var categories = Array(0..<standardCategories.count)
            let categoryCount = random.pick(weights: behaviour.categoryCountWeights) + 1
            for i in 0..<categoryCount {  // partial Fisher–Yates: the user's favourite categories
                categories.swapAt(i, i + random.below(categories.count - i))
            }
            for _ in 0..<length {
                let event = random.pick(weights: behaviour.eventWeights)
                let category = categories[random.below(categoryCount)]
                events.append(UInt64(user) << 8 | UInt64(event) << 4 | UInt64(category))
            }
        }
        for i in stride(from: events.count - 1, to: 0, by: -1) {
            if i & 0xFFFF == 0 { progress?.step("events shuffled", done: events.count - 1 - i, of: events.count - 1) }
            events.swapAt(i, random.below(i + 1))
        }
        try writeRows(events, ids: ids, labels: labels, to: output, progress: progress)
        return events.count
    }

    private func drawLength(_ behaviour: Behaviour, _ random: inout SplitMix64) -> Int {
        while true {
            let value = random.normal(mean: behaviour.length.mean, deviation: behaviour.length.deviation)
            let rounded = Int((value + 0.5).rounded(.down))
            if rounded >= behaviour.length.low && rounded <= behaviour.length.high { return rounded }
        }
    }

    /// Distinct ids of 10 upper-case hex digits.
    private func makeIDs(_ random: inout SplitMix64) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var seen = Set<UInt64>()
        var ids: [UInt8] = []
        ids.reserveCapacity(options.users * 10)
        while seen.count < options.users {
            let value = random.next() >> 24
            guard seen.insert(value).inserted else { continue }
            for shift in stride(from: 36, through: 0, by: -4) { ids.append(hex[Int(value >> UInt64(shift)) & 15]) }
        }
        return ids
    }

    private func writeRows(_ events: [UInt64], ids: [UInt8], labels: [UInt8], to output: ByteOutput, progress: Progress?) throws {
        // Each row is a fixed frame around the id, the event, the category and the label:
        // CSV `ID,event,category,0` or JSON Lines `{"UserId":"ID","Event":…,"Fake":0}`.
        let json = options.format == .jsonl
        let eventNames = standardEventTypes.map { Array((json ? "\",\"Event\":\"\($0)\",\"Category\":\"" : ",\($0),").utf8) }
        let categoryNames = standardCategories.map { Array((json ? "\($0)\"" : $0).utf8) }
        let labelTexts: [[UInt8]] = json
            ? [Array(",\"Fake\":0}\n".utf8), Array(",\"Fake\":1}\n".utf8)] : [Array(",0\n".utf8), Array(",1\n".utf8)]
        let rowStart: [UInt8] = json ? Array("{\"UserId\":\"".utf8) : []
        let rowEnd: [UInt8] = json ? Array("}\n".utf8) : [0x0A]
        if !json { try output.write(options.label ? "UserId,Event,Category,Fake\n" : "UserId,Event,Category\n") }
        try ids.withUnsafeBufferPointer { ids in
            for (index, packed) in events.enumerated() {
                if index & 0xFFFF == 0 { progress?.step("events written", done: index, of: events.count) }
                let user = Int(packed >> 8)
                try output.write(rowStart)
                try output.write(UnsafeBufferPointer(rebasing: ids[(user * 10)..<(user * 10 + 10)]))
                try output.write(eventNames[Int(packed >> 4) & 15])
                try output.write(categoryNames[Int(packed) & 15])
                try output.write(options.label ? labelTexts[Int(labels[user])] : rowEnd)
            }
        }
        progress?.step("events written", done: events.count, of: events.count)
    }
}
