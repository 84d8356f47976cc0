import Foundation
import Testing
import FakeUserKit

/// fu-fit keeps the training deciles, fu-drift compares new users with them: against
/// NumPy's values in Tests/Fixtures/drift_fixture.json (drift_fixture.py).
@Suite struct DriftEndToEnd {
    static let fixture: JSONValue = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/drift_fixture.json").path
        return try! readJSON(path, what: "fixture")
    }()
    static let features = fixture["table"]!["features"]!.arrayValue!
    static let names = features.map { $0["name"]!.stringValue! }

    /// train.csv (labelled) and new.csv from the fixture's columns; new.csv.zst beside it.
    func prepare(_ work: Workdir) throws {
        func table(_ key: String, labels: [Int]?) -> String {
            let columns = Self.features.map { $0[key]!.arrayValue!.map { shortestText($0.doubleValue!) } }
            var text = "UserId" + (labels == nil ? "" : ",Fake") + "," + Self.names.joined(separator: ",") + "\n"
            for row in 0..<columns[0].count {
                let id = "u" + String(100_000 + row)
                text += ([id] + (labels.map { [String($0[row])] } ?? []) + columns.map { $0[row] }).joined(separator: ",") + "\n"
            }
            return text
        }
        try work.write("train.csv", table("train", labels: Self.fixture["table"]!["labels"]!.arrayValue!.map { $0.intValue! }))
        try work.write("new.csv", table("new", labels: nil))
        #expect(try work.shell("zstd -q -o new.csv.zst new.csv").status == 0)
        #expect(try work.run("fu-fit", ["-o", "model.json", "train.csv"]).status == 0)
    }

    func shortestText(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }

    @Test func equalsNumPyOnPlainAndZstdInput() throws {
        let work = try Workdir()
        try prepare(work)
        var tables: [String] = []
        for input in ["new.csv", "new.csv.zst"] {
            let result = try work.run("fu-drift", ["-m", "model.json", "-o", "drift.json", input])
            #expect(result.status == 0, "\(result.stderr)")
            tables.append(result.stdout)
            let json = try JSONValue.parse(Array(try work.read("drift.json").utf8))
            let ours = json["features"]!.arrayValue!
            #expect(ours.map { $0["feature"]!.stringValue! } == Self.names)
            for (mine, theirs) in zip(ours, Self.features) {
                // The same doubles (JSON prints 3.0 as 3).
                for key in ["edges", "new_shares"] {
                    #expect(mine[key]!.arrayValue!.map(\.doubleValue) == theirs[key]!.arrayValue!.map(\.doubleValue), "\(key)")
                }
                if let expected = theirs["psi"]?.doubleValue {
                    let psi = mine["psi"]!.doubleValue!
                    #expect(abs(psi - expected) <= 1e-12 * max(1, expected), "\(psi) vs \(expected)")
                } else {
                    #expect(mine["psi"] == .null)
                }
            }
            let overall = Self.fixture["table"]!["overall"]!.doubleValue!
            #expect(abs(json["overall_psi"]!.doubleValue! - overall) <= 1e-12 * overall)
        }
        #expect(tables[0] == tables[1])
        #expect(tables[0].contains("significant shift"))
        #expect(tables[0].contains("constant in training (every value 3)"))
    }

    /// Several tables (and a directory of them) are one population: the same JSON as the
    /// tables joined, whatever each one's compression.
    @Test func severalTablesAreOnePopulation() throws {
        let work = try Workdir()
        try prepare(work)
        let lines = try work.read("new.csv").split(separator: "\n")
        try work.write("first.csv", ([lines[0]] + lines[1..<300]).joined(separator: "\n") + "\n")
        try work.write("second.csv", ([lines[0]] + lines[300...]).joined(separator: "\n") + "\n")
        #expect(try work.shell("zstd -q --rm second.csv && mkdir parts && cp first.csv second.csv.zst parts/").status == 0)
        #expect(try work.run("fu-drift", ["-m", "model.json", "-o", "whole.json", "new.csv"]).status == 0)
        #expect(try work.run("fu-drift", ["-m", "model.json", "-o", "parts.json", "first.csv", "second.csv.zst"]).status == 0)
        #expect(try work.run("fu-drift", ["-m", "model.json", "-o", "folder.json", "parts"]).status == 0)
        let whole = try work.read("whole.json")
        #expect(whole.contains("\"users\": 613"))
        #expect(try work.read("parts.json") == whole)
        #expect(try work.read("folder.json") == whole)
        #expect(try work.shell("cat new.csv | fu-drift -m model.json -o - | cmp - whole.json").status == 0)
    }

    @Test func failAboveExitsOneAfterWritingItsOutputs() throws {
        let work = try Workdir()
        try prepare(work)
        let result = try work.run("fu-drift", ["-m", "model.json", "--fail-above", "0.25", "-o", "drift.json", "new.csv"])
        #expect(result.status == 1)
        #expect(result.stderr == "fu-drift: error: PSI above 0.25 (--fail-above): shifted 5.7176\n")
        #expect(result.stdout.contains("shifted"))
        #expect(try work.read("drift.json").contains("\"overall_psi\""))
        let calm = try work.run("fu-drift", ["-m", "model.json", "--fail-above", "6", "new.csv"])
        #expect(calm.status == 0 && calm.stderr.isEmpty)
        let json = try work.run("fu-drift", ["-m", "model.json", "-o", "-", "new.csv"])
        #expect(json.status == 0 && json.stdout.hasPrefix("{") && !json.stdout.contains("significant shift"))
    }

    @Test func aMissingFeatureIsNamedAndLeavesTheOutputAlone() throws {
        let work = try Workdir()
        try prepare(work)
        try work.write("drift.json", "previous\n")
        let lines = try work.read("new.csv").split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        try work.write("partial.csv", lines.map { ([$0[0]] + $0[2...]).joined(separator: ",") }.joined(separator: "\n") + "\n")
        let result = try work.run("fu-drift", ["-m", "model.json", "-o", "drift.json", "partial.csv"])
        #expect(result.status == 65)
        #expect(result.stderr == "fu-drift: error: the input lacks the model's feature 'spread' (partial.csv:1)\n")
        #expect(result.stdout.isEmpty)
        #expect(try work.read("drift.json") == "previous\n")
    }

    /// A batch without send_sms events has no send_sms columns: they read as 0, as fu-score
    /// reads them, and the table says so.
    @Test func aMissingEventTypeColumnReadsAsZeroWithANote() throws {
        let work = try Workdir()
        #expect(try work.shell("fu-synth --users 400 --seed 5 | fu-featurize > features.csv && fu-fit -o model.json features.csv").status == 0)
        let rows = try work.read("features.csv").split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let dropped = Set(rows[0].indices.filter { ["send_sms", "send_sms_ratio"].contains(String(rows[0][$0])) })
        #expect(dropped.count == 2)
        try work.write("no-sms.csv", rows.map { row in row.indices.filter { !dropped.contains($0) }.map { row[$0] }.joined(separator: ",") }.joined(separator: "\n") + "\n")
        let result = try work.run("fu-drift", ["-m", "model.json", "no-sms.csv"])
        #expect(result.status == 0, "\(result.stderr)")
        let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("send_sms ") }
        #expect(line?.hasSuffix("not in the table: read as 0, as fu-score reads it") == true, "\(result.stdout)")
    }

    @Test func modelsWithoutADistributionAndEmptyTablesAreDataErrors() throws {
        let work = try Workdir()
        try prepare(work)
        // A model written before fu kept the deciles: the same file without the key.
        var model = try Model.load(work.path("model.json"))
        model.trainingDistribution = nil
        try work.write("old.json", model.json.rendered())
        let old = try work.run("fu-drift", ["-m", "old.json", "new.csv"])
        #expect(old.status == 65)
        #expect(old.stderr == "fu-drift: error: the model has no training distribution (fitted before fu kept one): refit it with fu-fit to measure drift\n")
        try work.write("empty.csv", "UserId," + Self.names.joined(separator: ",") + "\n")
        let empty = try work.run("fu-drift", ["-m", "model.json", "empty.csv"])
        #expect(empty.status == 65)
        #expect(empty.stderr == "fu-drift: error: no users to compare with the training data (empty.csv)\n")
        let usage = try work.run("fu-drift", ["-m", "model.json", "--fail-above=-0.5", "new.csv"])
        #expect(usage.status == 64 && usage.stderr.contains("--fail-above must be a PSI of 0 or more"))
    }
}
