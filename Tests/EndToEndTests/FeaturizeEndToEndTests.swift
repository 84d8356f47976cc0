import Foundation
import Testing

@Suite struct FeaturizeEndToEnd {
    @Test func referenceFeaturesAreReproducedExactly() throws {
        let work = try Workdir()
        let events = try work.fixture("events.csv.zst")
        let reference = csvRows(try String(contentsOfFile: try work.fixture("features.csv"), encoding: .utf8))
        let result = try work.run("fu-featurize", ["-i", events])
        #expect(result.status == 0)
        let ours = csvRows(result.stdout)
        #expect(ours.count == reference.count)
        let header = ours[0]
        // Every reference column: same names, and each value the same double to the last bit
        // (the reference prints `%.17g`, fu the shortest text that reads back exactly).
        let columns = reference[0].map { name in header.firstIndex(of: name) }
        #expect(!columns.contains(nil))
        #expect(ours[0].count >= reference[0].count)
        for (mine, theirs) in zip(ours.dropFirst(), reference.dropFirst()) {
            let values = columns.map { mine[$0!] }
            #expect(values[0] == theirs[0])
            #expect(zip(values, theirs).dropFirst().allSatisfy { Double($0)?.bitPattern == Double($1)?.bitPattern && $0.count <= $1.count })
        }
    }

    @Test func plainStdinAndJSONLinesGiveTheSameFeatures() throws {
        let work = try Workdir()
        try work.write("events.csv", "UserId,Event,Category,Fake\nA,click_ad,Jobs,0\nB,send_sms,Motor,1\nA,phone_call,Jobs,0\n")
        try work.write("events.jsonl", """
            {"UserId":"A","Event":"click_ad","Category":"Jobs","Fake":0}
            {"UserId":"B","Event":"send_sms","Category":"Motor","Fake":1}
            {"UserId":"A","Event":"phone_call","Category":"Jobs","Fake":0}

            """)
        let fromCSV = try work.run("fu-featurize", stdinFile: "events.csv")
        let fromJSON = try work.run("fu-featurize", ["-i", "events.jsonl"])
        #expect(fromCSV.status == 0 && fromJSON.status == 0)
        #expect(fromCSV.stdout == fromJSON.stdout)
        let jsonOut = try work.run("fu-featurize", ["--format", "jsonl"], stdinFile: "events.csv")
        let first = try JSONSerialization.jsonObject(with: Data(jsonOut.stdout.split(separator: "\n")[0].utf8)) as! [String: Any]
        #expect(first["UserId"] as? String == "A")
        #expect(first["total_events"] as? Int == 2)
    }

    @Test func shardsTogetherAreTheWhole() throws {
        let work = try Workdir()
        let events = try work.fixture("events.csv.zst")
        let whole = try work.run("fu-featurize", ["-i", events]).stdout
        var header = ""
        var rows: [String] = []
        for i in 0..<3 {
            let part = try work.run("fu-featurize", ["-i", events, "--shard", "\(i)/3"])
            #expect(part.status == 0)
            let lines = part.stdout.split(separator: "\n").map(String.init)
            header = lines[0]
            #expect(lines.count > 500)  // each shard holds a real share of the 3,000 users
            rows += lines.dropFirst()
        }
        #expect(([header] + rows.sorted()).joined(separator: "\n") + "\n" == whole)
    }

    /// With --sorted and --events, a type beyond --events that first shows after some users
    /// still counts in the next users' totals, shares and entropies, as without --sorted.
    @Test func sortedModeCountsTypesBeyondTheColumns() throws {
        let work = try Workdir()
        try work.write("s.csv", "UserId,Event,Category\nu1,click_ad,a\nu2,click_ad,a\nu2,phone_call,a\nu3,phone_call,b\nu3,send_sms,b\n")
        let sorted = try work.run("fu-featurize", ["--sorted", "--events", "click_ad", "s.csv"])
        let plain = try work.run("fu-featurize", ["--events", "click_ad", "s.csv"])
        #expect(sorted.status == 0 && plain.status == 0)
        #expect(sorted.stdout == plain.stdout && csvRows(plain.stdout)[2][1] == "2", "\(sorted.stdout)")
    }

    @Test func sortedModeEqualsDefaultOnSortedInput() throws {
        let work = try Workdir()
        let events = try work.fixture("events.csv.zst")
        let plain = try work.shell("zstd -dc '\(events)' > events.csv && (head -1 events.csv; tail -n +2 events.csv | LC_ALL=C sort -t, -k1,1) > sorted.csv")
        #expect(plain.status == 0)
        let streamed = try work.run("fu-featurize", ["--sorted", "-i", "sorted.csv"])
        let aggregated = try work.run("fu-featurize", ["-i", "sorted.csv"])
        #expect(streamed.status == 0)
        #expect(streamed.stdout == aggregated.stdout)
        let unsorted = try work.run("fu-featurize", ["--sorted", "-i", "events.csv"])
        #expect(unsorted.status == 65)
        #expect(unsorted.stderr.contains("input is not sorted by UserId"))
    }

    @Test func zstdOutputByNameAndFlag() throws {
        let work = try Workdir()
        let events = try work.fixture("events.csv.zst")
        let plain = try work.run("fu-featurize", ["-i", events]).stdout
        #expect(try work.run("fu-featurize", ["-i", events, "-o", "f.csv.zst"]).status == 0)
        #expect(try work.run("fu-featurize", ["-i", events, "--zstd", "--zstd-level", "9", "-o", "f2"]).status == 0)
        #expect(try work.shell("zstd -dc f.csv.zst").stdout == plain)
        #expect(try work.shell("zstd -dc f2").stdout == plain)
    }

    @Test func closedStdoutEndsQuietly() throws {
        let work = try Workdir()
        let events = try work.fixture("events.csv.zst")
        let result = try work.shell("fu-featurize -i '\(events)' | head -1; echo \"status=${PIPESTATUS[0]}\"")
        #expect(result.stdout.hasPrefix("UserId,Fake,total_events"))
        #expect(result.stdout.contains("status=0"))
        #expect(result.stderr == "")
    }

    @Test func progressOnlyWhenStderrIsATerminal() throws {
        let work = try Workdir()
        #expect(try work.run("fu-synth", ["--users", "40000", "-o", "events.csv"]).status == 0)
        // `script` gives the tool a terminal; the tool draws progress there and nowhere else.
        let terminal = try work.shell("script -qec 'fu-featurize -i events.csv --shard 0/2 -o a.csv' /dev/null")
        #expect(terminal.status == 0)
        #expect(terminal.stdout.contains("fu-featurize: ") && terminal.stdout.contains(" rows, "))
        // A plain file's size is known: a percentage and an ETA; the totals stay at the end.
        #expect(terminal.stdout.contains("%, ETA "))
        #expect(terminal.stdout.contains(#/fu-featurize: [0-9,]+ rows, [0-9,]+ users in [0-9]+\.[0-9] s/#))
        // fu's own zstd files declare no content size (they are streamed): the percentage
        // then comes from the compressed bytes read.
        #expect(try work.run("fu-synth", ["--users", "40000", "-o", "events.csv.zst"]).status == 0)
        #expect(try work.shell("zstd -lv events.csv.zst | grep -q 'Decompressed Size'").status != 0)
        let compressed = try work.shell("FU_PROGRESS_DELAY=0 script -qec 'fu-featurize events.csv.zst -o z.csv' /dev/null")
        #expect(compressed.stdout.contains(#/[0-9]+%, ETA [0-9]+ s/#), "\(compressed.stdout)")
        let piped = try work.run("fu-featurize", ["-i", "events.csv", "--shard", "0/2", "-o", "b.csv"])
        #expect(piped.stderr.isEmpty)
        #expect(try work.read("a.csv") == work.read("b.csv"))
        // An error after progress was drawn starts on a fresh line.
        #expect(try work.shell("cp events.csv bad.csv && echo 'X,,Jobs,0' >> bad.csv").status == 0)
        let failed = try work.shell("script -qec 'fu-featurize bad.csv -o c.csv' /dev/null")
        #expect(failed.stdout.contains(" rows, ") && failed.stdout.contains("\nfu-featurize: error: empty Event (bad.csv:"))
        #expect(!failed.stdout.contains("s\u{1B}[Kfu-featurize: error"))
    }

    @Test func headerOnlyInputGivesHeaderOnlyOutput() throws {
        let work = try Workdir()
        let result = try work.run("fu-featurize", stdin: "UserId,Event,Category,Fake\n")
        #expect(result.status == 0)
        #expect(result.stdout.split(separator: "\n").count == 1)
        #expect(result.stdout.hasPrefix("UserId,Fake,total_events,"))
    }

    @Test func logFolderGetsAllAndErrorLogs() throws {
        let work = try Workdir()
        try work.write("bad.csv", "UserId,Event\nA,click_ad\n")
        try work.write("good.csv", "UserId,Event,Category\nA,click_ad,Jobs\n")
        #expect(try work.run("fu-featurize", ["-v", "--log-dir", "logs", "-i", "good.csv"]).status == 0)
        #expect(try work.run("fu-featurize", ["-i", "bad.csv"], environment: ["FU_LOG_DIR": "logs"]).status == 65)
        let all = try work.read("logs/all.log")
        let errors = try work.read("logs/error.log")
        #expect(all.contains("fu-featurize[") && all.contains("info: featurized") && all.contains("error: missing required column"))
        #expect(!errors.contains("info:") && errors.contains("error: missing required column 'Category' (bad.csv:1)"))
    }
}

/// Each bad input of docs/design.md: the one-line message, the exit code, and an `-o` file left as it was.
@Suite struct FeaturizeBadInput {
    func expectFailure(_ input: [UInt8], arguments: [String] = [], status: Int32, message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let work = try Workdir()
        try work.write("in", bytes: input)
        try work.write("out.csv", "previous good output\n")
        let result = try work.run("fu-featurize", ["-i", "in", "-o", "out.csv"] + arguments)
        #expect(result.status == status, sourceLocation: sourceLocation)
        #expect(result.stderr == "fu-featurize: error: \(message)\n", sourceLocation: sourceLocation)
        #expect(try work.read("out.csv") == "previous good output\n", sourceLocation: sourceLocation)
        #expect(try work.files() == ["in", "out.csv"], sourceLocation: sourceLocation)
    }

    func text(_ s: String) -> [UInt8] { Array(s.utf8) }
    let header = "UserId,Event,Category,Fake\n"

    @Test func emptyInput() throws {
        try expectFailure([], status: 65, message: "empty input (in)")
    }

    @Test func missingColumns() throws {
        for column in ["UserId", "Event", "Category"] {
            let names = ["UserId", "Event", "Category"].filter { $0 != column }.joined(separator: ",")
            try expectFailure(text(names + "\na,b\n"), status: 65, message: "missing required column '\(column)' (in:1)")
        }
    }

    @Test func rowProblems() throws {
        try expectFailure(text(header + "A,click_ad,Jobs,0\nA,click_ad,0\n"), status: 65, message: "expected 4 fields, found 3 (in:3)")
        try expectFailure(text(header + "A,click_ad,\"Jobs,0\n"), status: 65, message: "unterminated quote (in:2)")
        try expectFailure(text(header) + [0x41, 0xC3, 0x28] + text(",click_ad,Jobs,0\n"), status: 65, message: "invalid UTF-8 (in:2)")
        try expectFailure(text(header + ",click_ad,Jobs,0\n"), status: 65, message: "empty UserId (in:2)")
        try expectFailure(text(header + "A,click_ad,Jobs,yes\n"), status: 65, message: "Fake must be 0 or 1, found 'yes' (in:2)")
        try expectFailure(text(header + "A,click_ad,Jobs,0\nB,click_ad,Jobs,0\nA,send_sms,Jobs,1\n"), status: 65,
                          message: "Fake changes within user 'A' (0 before, 1 here) (in:4)")
    }

    /// From a pipe the writer still holds open, a bad row near the start fails the run at
    /// once: zstd from a pipe is decoded as it arrives, not a chunk ahead (which would wait
    /// for bytes that do not come).
    @Test func aBadRowInZstdFromAnOpenPipeFailsAtOnce() throws {
        let work = try Workdir()
        try work.write("bad.csv", "UserId,Event,Category,Fake\nA,click_ad,Jobs,0\nB,click_ad\n")
        #expect(try work.shell("zstd -q bad.csv -o bad.csv.zst && mkfifo pipe").status == 0)
        let start = Date()
        let result = try work.shell(
            "{ cat bad.csv.zst; exec sleep 30; } > pipe & fu-featurize < pipe > out.csv 2> err.txt; echo $? >> err.txt; kill $!; cat err.txt",
            deadline: 25)
        #expect(result.stdout == "fu-featurize: error: expected 4 fields, found 2 (stdin:3)\n65\n")
        #expect(Date().timeIntervalSince(start) < 20)
    }

    @Test func brokenZstd() throws {
        let work = try Workdir()
        let events = try work.fixture("events.csv.zst")
        let compressed = [UInt8](try Data(contentsOf: URL(fileURLWithPath: events)))
        try expectFailure(Array(compressed.prefix(compressed.count / 2)), status: 65, message: "truncated zstd stream in in")
        var corrupt = compressed
        for i in 4..<12 { corrupt[i] ^= 0xA5 }  // the frame header
        let work2 = try Workdir()
        try work2.write("in", bytes: corrupt)
        let result = try work2.run("fu-featurize", ["-i", "in"])
        #expect(result.status == 65)
        #expect(result.stderr.hasPrefix("fu-featurize: error: corrupt zstd stream in in"))
    }

    @Test func missingInputFile() throws {
        let work = try Workdir()
        try work.write("out.csv", "kept\n")
        let result = try work.run("fu-featurize", ["-i", "nope.csv", "-o", "out.csv"])
        #expect(result.status == 66)
        #expect(result.stderr == "fu-featurize: error: cannot open nope.csv: No such file or directory\n")
        #expect(try work.read("out.csv") == "kept\n")
    }

    @Test func badArguments() throws {
        let work = try Workdir()
        for arguments in [["--shard", "3/2"], ["--shard", "x"], ["--zstd-level", "99"], ["--format", "xml"], ["--no-such-flag"], ["--events", ","]] {
            let result = try work.run("fu-featurize", arguments, stdin: header)
            #expect(result.status == 64, "\(arguments)")
            #expect(result.stderr.hasPrefix("fu-featurize: error: "), "\(arguments)")
            #expect(result.stderr.filter { $0 == "\n" }.count == 1, "one line: \(result.stderr)")
            #expect(result.stdout == "")
        }
    }

    @Test func skipBadRowsCountsAndSucceeds() throws {
        let work = try Workdir()
        try work.write("in", header + "A,click_ad,Jobs,0\nA,click_ad\n,click_ad,Jobs,0\nB,click_ad,Jobs,7\nB,send_sms,Motor,1\n")
        let result = try work.run("fu-featurize", ["-i", "in", "--skip-bad-rows"])
        #expect(result.status == 0)
        #expect(result.stderr == "fu-featurize: warning: skipped 3 bad rows input=in\n")
        #expect(csvRows(result.stdout).map { $0[0] } == ["UserId", "A", "B"])
    }
}

@Suite struct HelpAndVersion {
    @Test(arguments: ["fu-synth", "fu-featurize", "fu-split", "fu-fit", "fu-cv", "fu-score", "fu-serve", "fu-partition", "fu-merge", "fu-watch", "fu-drift"])
    func everyToolHasAManualPage(_ tool: String) throws {
        let work = try Workdir()
        for flag in ["--help", "-h"] {
            let help = try work.run(tool, [flag])
            #expect(help.status == 0)
            #expect(help.stdout.contains("OVERVIEW:") && help.stdout.contains("USAGE: \(tool)"), "\(tool) \(flag)")
            // The filters share the output options; the server has its limits instead.
            #expect(help.stdout.contains(tool == "fu-serve" ? "--max-body" : "--output"))
        }
        let version = try work.run(tool, ["--version"])
        #expect(version.status == 0 && version.stdout == "0.1.0\n")
    }
}

@Suite struct SynthEndToEnd {
    @Test func sameSeedSameBytes() throws {
        let work = try Workdir()
        let first = try work.run("fu-synth", ["--users", "300", "--seed", "11"])
        let second = try work.run("fu-synth", ["--users", "300", "--seed", "11"])
        let other = try work.run("fu-synth", ["--users", "300", "--seed", "12"])
        #expect(first.status == 0)
        #expect(first.stdout == second.stdout)
        #expect(first.stdout != other.stdout)
        #expect(first.stdout.hasPrefix("UserId,Event,Category,Fake\n"))
    }

    @Test func shapeOfTheData() throws {
        let work = try Workdir()
        let result = try work.shell("fu-synth --users 4000 --seed 5 | fu-featurize")
        #expect(result.status == 0)
        let rows = csvRows(result.stdout)
        let header = rows[0]
        func column(_ name: String) -> Int { header.firstIndex(of: name)! }
        let users = rows.dropFirst()
        #expect(users.count == 4000)
        #expect(users.allSatisfy { $0[0].count == 10 && $0[0].allSatisfy { "0123456789ABCDEF".contains($0) } })
        let fakes = users.filter { $0[1] == "1" }
        let reals = users.filter { $0[1] == "0" }
        let fakeShare = Double(fakes.count) / Double(users.count)
        #expect(fakeShare > 0.04 && fakeShare < 0.075)
        func mean(_ rows: [[String]], _ name: String) -> Double {
            rows.map { Double($0[column(name)])! }.reduce(0, +) / Double(rows.count)
        }
        #expect(abs(mean(reals, "total_events") - 18.4) < 0.6)
        #expect(abs(mean(fakes, "total_events") - 34.5) < 2.5)
        #expect(abs(mean(reals, "unique_categories") - 2.6) < 0.2)
        #expect(abs(mean(fakes, "unique_categories") - 5.3) < 0.25)
        #expect(abs(mean(fakes, "click_ad_ratio") - 0.41) < 0.03)
        #expect(abs(mean(fakes, "send_email_ratio") - 0.44) < 0.03)
        #expect(users.allSatisfy { (15...49).contains(Int($0[column("total_events")])!) })
    }

    @Test func noLabelAndRowsShuffled() throws {
        let work = try Workdir()
        let result = try work.run("fu-synth", ["--users", "50", "--no-label"])
        let rows = csvRows(result.stdout)
        #expect(rows[0] == ["UserId", "Event", "Category"])
        let ids = rows.dropFirst().map { $0[0] }
        // Shuffled together: a user's rows are not one block.
        #expect(Set(ids).count == 50)
        #expect(zip(ids, ids.dropFirst()).filter { $0 != $1 }.count > 100)
    }

    @Test func badArguments() throws {
        let work = try Workdir()
        for arguments in [["--users", "0"], ["--fake-rate", "2"], ["--users", "many"]] {
            let result = try work.run("fu-synth", arguments)
            #expect(result.status == 64)
            #expect(result.stderr.hasPrefix("fu-synth: error: "))
        }
    }
}
