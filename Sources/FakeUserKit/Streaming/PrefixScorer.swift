#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The stream policy search's scorer: one user's decision value after each of its events,
/// updated in a few operations per event, and the grid level it reaches.
///
/// The model is linear in the features, and every feature is a count, a share of the
/// user's events, a ratio or an entropy, each of which changes by a known amount when one
/// event is added (an entropy is log n − Σ c·log c / n). Filling the whole feature row
/// after each event instead (`CounterRows`, a logarithm per type and category) cost ten
/// times more, and the search scores every prefix of every training user. The sums here
/// round differently from `Model.decisionValue` on the row: a probability within a bound
/// of a grid threshold (the sums' rounding carried through the sigmoid, and the sigmoid's
/// own) is reported as uncertain, and the caller scores that prefix the exact way. So the
/// levels equal the exact replay's. fu-watch takes the same sums from a user's counters
/// (`probability(user:counts:categories:below:)`) to decide most events without a row.
/// A class: fu-watch reads it per event, and a struct's copy retained its arrays.
final class PrefixScorer {
    /// decision = constant + Σ weight × quantity, the quantities those of `FeatureSet.Column`.
    private var constant = 0.0
    private var total = 0.0
    private let count: [Double]
    private let share: [Double]
    private var uniqueCategories = 0.0, eventsPerCategory = 0.0, uniqueEvents = 0.0
    private var eventEntropy = 0.0, categoryEntropy = 0.0, topCategoryShare = 0.0, distinctPairs = 0.0
    /// For the rounding bound: |constant part| and the largest |weight|.
    private var constantMagnitude = 0.0
    private var largestWeight = 0.0
    /// The probability: the final model's calibration, or the sigmoid.
    private let calibration: Calibration?
    /// |slope| and |offset| of the sigmoid's argument (slope × decision + offset).
    private let slope: Double, offset: Double
    /// Ascending thresholds; a level is how many are at or below the probability.
    private let grid: [Double]

    /// nil when a weight is not an ordinary number: the caller scores every prefix the
    /// exact way.
    init?(model fold: Model, calibratedBy model: Model, set: FeatureSet, eventTypes: Int, grid: [Double]) {
        var count = [Double](repeating: 0, count: eventTypes)
        var share = count
        calibration = model.calibration
        (slope, offset) = calibration.map { (abs($0.a), abs($0.b)) } ?? (1, 0)
        // A buffer of its own: the replay's threads each make their scorers, and a shared
        // array's reference count, changed as the scorer is copied per user, made every
        // read of it a cache miss on the other core.
        self.grid = grid.map { $0 }
        let position = Dictionary(uniqueKeysWithValues: set.columnNames.enumerated().map { ($1, $0) })
        let columns = set.columns
        constant = fold.intercept
        constantMagnitude = abs(fold.intercept)
        for (f, name) in fold.features.enumerated() {
            let weight = fold.coefficients[f] / fold.scaler.scale[f]
            let offsetTerm = fold.coefficients[f] * (fold.scaler.mean[f] / fold.scaler.scale[f])
            constant -= offsetTerm
            constantMagnitude += abs(offsetTerm)
            largestWeight = max(largestWeight, abs(weight))
            guard let column = position[name] else { continue }  // a type not seen yet reads as 0
            switch columns[column] {
            case .totalEvents: total += weight
            case .share(let types): for t in types { share[t] += weight }
            case .count(let t): count[t] += weight
            case .uniqueCategories: uniqueCategories += weight
            case .eventsPerCategory: eventsPerCategory += weight
            case .uniqueEvents: uniqueEvents += weight
            case .eventEntropy: eventEntropy += weight
            case .categoryEntropy: categoryEntropy += weight
            case .topCategoryShare: topCategoryShare += weight
            case .distinctPairs: distinctPairs += weight
            }
        }
        (self.count, self.share) = (count, share)
        guard (constantMagnitude + largestWeight + slope + offset).isFinite, largestWeight < 1e100 else { return nil }
    }

    /// One user's counters and running sums; `reset` before the next user. The caller keeps
    /// the user's `EventCounts` too, for the prefixes this cannot decide. One per thread:
    /// plain memory, as the per-event updates of arrays paid uniqueness checks.
    final class User {
        var events = 0
        /// Counts per type, then per category; bit c of pair word t: type t shown in category c.
        private let types: UnsafeMutablePointer<Int32>
        private let categories: UnsafeMutablePointer<Int32>
        private let pairs: UnsafeMutablePointer<UInt64>
        private let eventTypes: Int, categoryCount: Int
        var uniqueTypes = 0, uniqueCategories = 0, distinctPairs = 0, topCategory: Int32 = 0
        /// Σ c·log c over the type counts and over the category counts.
        var typeSum = 0.0, categorySum = 0.0
        /// Σ count weight × count and Σ share weight × count, over the types.
        var counted = 0.0, shared = 0.0

        /// At most 64 types and 64 categories (the parser's limits).
        init(eventTypes: Int, categories: Int) {
            precondition(eventTypes <= 64 && categories <= 64, "at most 64 event types and 64 categories")
            (self.eventTypes, categoryCount) = (eventTypes, categories)
            types = .allocate(capacity: max(eventTypes, 1))
            types.initialize(repeating: 0, count: max(eventTypes, 1))
            self.categories = .allocate(capacity: max(categories, 1))
            self.categories.initialize(repeating: 0, count: max(categories, 1))
            pairs = .allocate(capacity: max(eventTypes, 1))
            pairs.initialize(repeating: 0, count: max(eventTypes, 1))
        }

        deinit {
            types.deallocate()
            categories.deallocate()
            pairs.deallocate()
        }

        /// Back to no events; `codes` are the events added since the last reset.
        func reset(_ codes: UnsafeBufferPointer<UInt16>) {
            for code in codes {
                types[Int(code >> 8)] = 0
                categories[Int(code & 0xFF)] = 0
                pairs[Int(code >> 8)] = 0
            }
            events = 0
            (uniqueTypes, uniqueCategories, distinctPairs, topCategory) = (0, 0, 0, 0)
            (typeSum, categorySum, counted, shared) = (0, 0, 0, 0)
        }

        /// Counts one event of type `type` in `category`; returns the two new counts and
        /// whether the pair is new.
        @inline(__always)
        func count(type: Int, category: Int) -> (type: Int32, category: Int32, newPair: Bool) {
            events += 1
            types[type] += 1
            categories[category] += 1
            let bit = UInt64(1) << UInt64(category)
            let newPair = pairs[type] & bit == 0
            pairs[type] |= bit
            return (types[type], categories[category], newPair)
        }
    }

    /// c·log c for small counts, and log n: a table look-up instead of a logarithm. Each
    /// scorer's own copy, as for `grid`: reads of the shared global stalled on the other core.
    private static let cLogCs: [Double] = (0..<4096).map { $0 == 0 ? 0 : Double($0) * log(Double($0)) }
    private static let logs: [Double] = (0..<4096).map { $0 == 0 ? 0 : log(Double($0)) }
    private let cLogCs = PrefixScorer.cLogCs.map { $0 }
    private let logs = PrefixScorer.logs.map { $0 }

    @inline(__always)
    private func cLogC(_ c: Int32) -> Double { cLogC(Int(c)) }

    /// For a count of the counters (32-bit ones hold up to 2³² − 1: no Int32 here).
    @inline(__always)
    private func cLogC(_ c: Int) -> Double {
        c < 4096 ? cLogCs[c] : Double(c) * log(Double(c))
    }

    /// Adds one event to `user` and returns the grid level its probability reaches, or nil
    /// when the probability is too close to a threshold for the rounding to be ruled out.
    @inline(__always)
    func add(_ code: UInt16, to user: User) -> Int? {
        let type = Int(code >> 8), category = Int(code & 0xFF)
        let (typeCount, categoryCount, newPair) = user.count(type: type, category: category)
        if typeCount == 1 { user.uniqueTypes += 1 }
        user.typeSum += cLogC(typeCount) - cLogC(typeCount - 1)
        if categoryCount == 1 { user.uniqueCategories += 1 }
        user.categorySum += cLogC(categoryCount) - cLogC(categoryCount - 1)
        user.topCategory = max(user.topCategory, categoryCount)
        if newPair { user.distinctPairs += 1 }
        user.counted += count[type]
        user.shared += share[type]

        guard let (decision, error) = decision(
            events: user.events, counted: user.counted, shared: user.shared, uniqueTypes: user.uniqueTypes,
            uniqueCategories: user.uniqueCategories, distinctPairs: user.distinctPairs, typeSum: user.typeSum,
            categorySum: user.categorySum, topCategory: Int(user.topCategory))
        else { return nil }
        let (p, tolerance) = probability(decision: decision, error: error)
        // The number of thresholds at or below p (binary search).
        var level = 0, high = grid.count
        while level < high {
            let middle = (level + high) / 2
            if grid[middle] <= p { level = middle + 1 } else { high = middle }
        }
        if level > 0 && p - grid[level - 1] <= tolerance { return nil }
        if level < grid.count && grid[level] - p <= tolerance { return nil }
        return level
    }

    /// What `probability(user:counts:categories:below:)` can say of a user's probability.
    enum Bound {
        /// The exact path's probability is within `tolerance` of `p`.
        case near(p: Double, tolerance: Double, events: Int)
        /// The exact path's sigmoid argument is below the one asked for, so its probability
        /// is below that argument's sigmoid (found without computing the sigmoid).
        case below(events: Int)
    }

    /// The probability of a user's counters in `counts` (fu-watch's users) and how far the
    /// exact path's (`CounterRows`, `Model.probability`) may be from it, with the user's
    /// events; nil when that cannot be bounded. The same sums as `add`, taken from the
    /// counters: fu-watch keeps no running sums (its memory a user would grow by a third),
    /// and a verdict this decides needs no feature row (a third of fu-watch's time).
    /// `below`: a sigmoid argument under which `.below` is enough (most users are far below
    /// every threshold), or -∞.
    @inline(__always)
    func probability(user: Int, counts: EventCounts, categories categoryCount: Int, below: Double = -.infinity) -> Bound? {
        // Without a branch per count: a zero adds nothing (0·log 0 is 0 in the table).
        let counters = counts.counters(user: user)
        var events = 0, uniqueTypes = 0, typeSum = 0.0, counted = 0.0, shared = 0.0
        count.withUnsafeBufferPointer { count in
            share.withUnsafeBufferPointer { share in
                for type in 0..<min(count.count, counters.types) {
                    let c = counters.type(type)
                    events += c
                    uniqueTypes += c > 0 ? 1 : 0
                    typeSum += cLogC(c)
                    counted += count[type] * Double(c)
                    shared += share[type] * Double(c)
                }
            }
        }
        guard events > 0, events < Int(Int32.max) else { return nil }
        var uniqueCategories = 0, topCategory = 0, categorySum = 0.0
        for category in 0..<min(categoryCount, counters.categories) {
            let c = counters.category(category)
            uniqueCategories += c > 0 ? 1 : 0
            topCategory = max(topCategory, c)
            categorySum += cLogC(c)
        }
        guard let (decision, error) = decision(
            events: events, counted: counted, shared: shared, uniqueTypes: uniqueTypes, uniqueCategories: uniqueCategories,
            distinctPairs: counts.distinctPairs(user: user), typeSum: typeSum, categorySum: categorySum, topCategory: topCategory)
        else { return nil }
        let x = calibration.map { -($0.a * decision + $0.b) } ?? decision
        if x + argumentError(decision: decision, error: error) < below { return .below(events: events) }
        let (p, tolerance) = probability(decision: decision, error: error)
        return .near(p: p, tolerance: tolerance, events: events)
    }

    /// The decision value from a user's sums, and how far the exact path's may be from it.
    @inline(__always)
    private func decision(
        events: Int, counted: Double, shared: Double, uniqueTypes: Int, uniqueCategories: Int, distinctPairs: Int,
        typeSum: Double, categorySum: Double, topCategory: Int
    ) -> (decision: Double, error: Double)? {
        let n = Double(events)
        let logN = events < 4096 ? logs[events] : log(n)
        var decision = constant + total * n + counted + shared / n
        decision += self.uniqueCategories * Double(uniqueCategories) + eventsPerCategory * (n / Double(uniqueCategories))
        decision += self.uniqueEvents * Double(uniqueTypes) + self.distinctPairs * Double(distinctPairs)
        decision += eventEntropy * (logN - typeSum / n) + categoryEntropy * (logN - categorySum / n)
        decision += topCategoryShare * (Double(topCategory) / n)
        // Every quantity is at most n, or 64, or a share or entropy (pairs ≤ n): the sum
        // of the terms' magnitudes is below `magnitude`. The running sums add n terms
        // each, so their rounding grows at worst with n² ulps; the tolerance is thousands
        // of times the worst either sum can make.
        let magnitude = constantMagnitude + largestWeight * (4 * n + 256)
        guard magnitude < 1e90 else { return nil }  // near Model.hugeTerm, decided otherwise
        guard decision.isFinite else { return nil }
        return (decision, 1e-12 * (magnitude + largestWeight * n * n))
    }

    /// How far the exact path's sigmoid argument (slope × decision + offset) may be from
    /// this one's: the decision's error, and the argument's own rounding.
    @inline(__always)
    private func argumentError(decision: Double, error: Double) -> Double {
        slope * error + 4 * Double.ulpOfOne * (slope * abs(decision) + offset)
    }

    /// The probability for a decision value uncertain by `error`, and how far the exact
    /// path's may be from it. The same function as the exact path's; its sigmoid's slope
    /// p(1 − p) is at most 1/4, and within an argument's step of 1 at most 3 times its
    /// value here; the sigmoid itself rounds by an ulp or two of p.
    @inline(__always)
    private func probability(decision: Double, error: Double) -> (p: Double, tolerance: Double) {
        let p = calibration.map { $0.probability(decision) } ?? sigmoid(decision)
        let argument = argumentError(decision: decision, error: error)
        let steepness = argument <= 1 ? min(0.25, 3 * p * (1 - p)) : 0.25
        return (p, steepness * argument + 16 * p.ulp)
    }
}
