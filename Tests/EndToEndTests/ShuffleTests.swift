import Foundation
import Testing

/// fu-partition and fu-merge, built, through files and pipes: partition → featurize each
/// bucket → merge is byte for byte one fu-featurize.
@Suite struct ShuffleEndToEnd {
    let header = "UserId,Event,Category,Fake\n"

    /// Partitions FILES into N buckets in `dir`, featurizes each, merges; returns the merge's result.
    func shuffle(_ work: Workdir, _ inputs: String, buckets: Int, dir: String = "buckets", merged: String = "merged.csv") throws -> Workdir.Result {
        try work.shell("""
            set -e
            fu-partition --buckets \(buckets) --output-dir \(dir) \(inputs)
            mkdir -p features-\(dir)
            for f in \(dir)/bucket-*; do fu-featurize -i "$f" -o "features-\(dir)/$(basename "$f")"; done
            fu-merge -o \(merged) features-\(dir)/
            """)
    }

    @Test func partitionFeaturizeMergeIsByteIdenticalToOneFeaturize() throws {
        let work = try Workdir()
        #expect(try work.run("fu-synth", ["--users", "3000", "--seed", "3", "-o", "events.csv.zst"]).status == 0)
        #expect(try work.run("fu-featurize", ["-i", "events.csv.zst", "-o", "whole.csv"]).status == 0)
        for buckets in [1, 4, 7] {
            let result = try shuffle(work, "events.csv.zst", buckets: buckets, dir: "b\(buckets)", merged: "merged-\(buckets).csv")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try work.read("merged-\(buckets).csv") == work.read("whole.csv"), "\(buckets) buckets")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: work.path("b4")).sorted()
        #expect(names == (0..<4).map { "bucket-0000\($0)-of-00004.csv.zst" })
        // The same bytes compressed too: fu's zstd encoder gives the same frames for the same rows.
        #expect(try work.shell("fu-featurize -i events.csv.zst -o whole.csv.zst && fu-merge -o merged.csv.zst features-b4/ && cmp whole.csv.zst merged.csv.zst").status == 0)
        // And as JSON Lines.
        let jsonl = try work.shell("fu-featurize --format jsonl -i events.csv.zst > whole.jsonl && fu-merge --format jsonl features-b7 > merged.jsonl && cmp whole.jsonl merged.jsonl")
        #expect(jsonl.status == 0, "\(jsonl.stderr)")
    }

    @Test func aRareEventTypeMissingFromBucketsIsFilledWithZeros() throws {
        let work = try Workdir()
        var text = header
        for user in 0..<40 { text += "U\(user),click_ad,Jobs,0\nU\(user),send_email,Motor,0\n" }
        text += "U7,send_sms,Leisure,0\nZ,weird_type,Jobs,1\n"
        try work.write("events.csv", text)
        #expect(try work.run("fu-featurize", ["-i", "events.csv", "-o", "whole.csv"]).status == 0)
        let result = try shuffle(work, "events.csv", buckets: 5)
        #expect(result.status == 0, "\(result.stderr)")
        let withSMS = try work.shell("for f in features-buckets/*; do zstd -dc $f | head -1; done | grep -c send_sms_ratio").stdout
        #expect(withSMS.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        #expect(try work.read("merged.csv") == work.read("whole.csv"))
    }

    @Test func emptyBucketsHaveTheHeaderAndMergeCleanly() throws {
        let work = try Workdir()
        try work.write("events.csv", header + "A,click_ad,Jobs,0\nA,send_sms,Motor,0\n")
        let result = try shuffle(work, "events.csv", buckets: 3)
        #expect(result.status == 0, "\(result.stderr)")
        var empty = 0
        for index in 0..<3 {
            let bucket = try work.shell("zstd -dc buckets/bucket-0000\(index)-of-00003.csv.zst").stdout
            #expect(bucket.hasPrefix(header))
            if bucket == header { empty += 1 }
        }
        #expect(empty == 2)
        #expect(try work.read("merged.csv") == work.run("fu-featurize", ["-i", "events.csv"]).stdout)
        // Every input empty: a header-only table.
        try work.write("none.csv", header)
        #expect(try shuffle(work, "none.csv", buckets: 2, dir: "none", merged: "none-merged.csv").status == 0)
        #expect(try work.read("none-merged.csv") == work.run("fu-featurize", ["-i", "none.csv"]).stdout)
    }

    @Test func listsDirectoriesStdinAndJSONLinesGiveTheSameBuckets() throws {
        let work = try Workdir()
        #expect(try work.run("fu-synth", ["--users", "200", "--seed", "9", "-o", "all.csv"]).status == 0)
        let split = try work.shell("""
            mkdir parts && head -1 all.csv > parts/1.csv && cp parts/1.csv parts/2.csv
            sed -n '2,1500p' all.csv >> parts/1.csv && tail -n +1501 all.csv >> parts/2.csv
            zstd -q --rm parts/2.csv
            """)
        #expect(split.status == 0)
        let runs = [
            "fu-partition --buckets 3 --no-zstd --output-dir from-file all.csv",
            "fu-partition --buckets 3 --no-zstd --output-dir from-list parts/1.csv parts/2.csv.zst",
            "fu-partition --buckets 3 --no-zstd --output-dir from-dir parts",
            "fu-partition --buckets 3 --no-zstd --output-dir from-stdin < all.csv",
            "fu-partition --buckets 3 --no-zstd --output-dir from-dash - < all.csv",
        ]
        for command in runs {
            let result = try work.shell(command)
            #expect(result.status == 0, "\(command): \(result.stderr)")
        }
        for dir in ["from-list", "from-dir", "from-stdin", "from-dash"] {
            #expect(try work.shell("diff -r from-file \(dir)").status == 0, "\(dir)")
        }
        #expect(try work.files().contains("from-file"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path("from-file")).sorted()
            == ["bucket-00000-of-00003.csv", "bucket-00001-of-00003.csv", "bucket-00002-of-00003.csv"])

        // JSON Lines events: the same rows, so the same buckets.
        try work.write("events.jsonl", """
            {"UserId":"A","Event":"click_ad","Category":"Jobs","Fake":0,"extra":1}
            {"UserId":"B","Event":"send_sms","Category":"Motor","Fake":1}

            """)
        try work.write("events.csv", "Category,UserId,Event,Fake\nJobs,A,click_ad,0\nMotor,B,send_sms,1\n")
        #expect(try work.shell("fu-partition --buckets 2 --output-dir j events.jsonl && fu-partition --buckets 2 --output-dir c events.csv && diff -r j c").status == 0)
    }

    @Test func eachRowIsInTheBucketOfItsShard() throws {
        let work = try Workdir()
        #expect(try work.run("fu-synth", ["--users", "300", "--seed", "2", "-o", "events.csv"]).status == 0)
        #expect(try work.run("fu-partition", ["--buckets", "3", "--output-dir", "b", "events.csv"]).status == 0)
        for index in 0..<3 {
            let shard = try work.run("fu-featurize", ["-i", "events.csv", "--shard", "\(index)/3"]).stdout
            let bucket = try work.run("fu-featurize", ["-i", "b/bucket-0000\(index)-of-00003.csv.zst"]).stdout
            // The same users; a shard also has columns for types only other shards saw.
            #expect(csvRows(shard).map { $0[0] } == csvRows(bucket).map { $0[0] })
        }
    }

    // MARK: Errors

    @Test func partitionErrorsNameTheFileAndLineAndChangeNothing() throws {
        let work = try Workdir()
        try work.write("good.csv", header + "A,click_ad,Jobs,0\n")
        #expect(try work.run("fu-partition", ["--buckets", "2", "--no-zstd", "--output-dir", "out", "good.csv"]).status == 0)
        let before = try work.read("out/bucket-00000-of-00002.csv") + work.read("out/bucket-00001-of-00002.csv")

        try work.write("nocat.csv", "UserId,Event,Fake\nB,click_ad,0\n")
        let missing = try work.run("fu-partition", ["--buckets", "2", "--no-zstd", "--output-dir", "out", "nocat.csv"])
        #expect(missing.status == 65)
        #expect(missing.stderr == "fu-partition: error: missing required column 'Category' (nocat.csv:1)\n")

        try work.write("bad.csv", header + "B,click_ad,Jobs,0\nB,send_sms\n")
        let bad = try work.run("fu-partition", ["--buckets", "2", "--no-zstd", "--output-dir", "out", "good.csv", "bad.csv"])
        #expect(bad.status == 65)
        #expect(bad.stderr == "fu-partition: error: expected 4 fields, found 2 (bad.csv:3)\n")

        try work.write("label.csv", header + "B,click_ad,Jobs,2\n")
        let label = try work.run("fu-partition", ["--buckets", "2", "--no-zstd", "--output-dir", "out", "label.csv"])
        #expect(label.status == 65 && label.stderr.contains("Fake must be 0 or 1, found '2' (label.csv:2)"))

        let absent = try work.run("fu-partition", ["--buckets", "2", "--no-zstd", "--output-dir", "out", "absent.csv"])
        #expect(absent.status == 66 && absent.stderr.hasPrefix("fu-partition: error: cannot open absent.csv"))

        // The earlier buckets are as they were, and no temporary file is left.
        #expect(try work.read("out/bucket-00000-of-00002.csv") + work.read("out/bucket-00001-of-00002.csv") == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path("out")).count == 2)
        // A folder the failed run created is removed again.
        #expect(try work.run("fu-partition", ["--buckets", "2", "--output-dir", "new", "nocat.csv"]).status == 65)
        #expect(!(try work.files().contains("new")))

        for arguments in [["--buckets", "0", "--output-dir", "x"], ["--buckets", "257", "--output-dir", "x"], ["--output-dir", "x"],
                          ["--buckets", "2"], ["--buckets", "2", "--output-dir", "x", "--zstd-level", "30"]] {
            let usage = try work.run("fu-partition", arguments + ["good.csv"])
            #expect(usage.status == 64, "\(arguments)")
            #expect(usage.stderr.hasPrefix("fu-partition: error: "))
        }
    }

    @Test func partitionSkipsBadRowsAsFeaturizeDoes() throws {
        let work = try Workdir()
        try work.write("in.csv", header + "A,click_ad,Jobs,0\nA,click_ad\n,click_ad,Jobs,0\nB,click_ad,Jobs,7\nB,send_sms,Motor,1\n")
        let result = try work.run("fu-partition", ["--buckets", "2", "--output-dir", "b", "--skip-bad-rows", "in.csv"])
        #expect(result.status == 0)
        #expect(result.stderr == "fu-partition: warning: skipped 3 bad rows input=in.csv\n")
        let merged = try work.shell("for f in b/*; do fu-featurize -i $f -o f-$(basename $f); done && fu-merge f-bucket-*")
        #expect(merged.stdout == (try work.run("fu-featurize", ["-i", "in.csv", "--skip-bad-rows"]).stdout))
    }

    @Test func fakeChangingWithinAUserIsFoundWhenTheBucketIsFeaturized() throws {
        let work = try Workdir()
        try work.write("in.csv", header + "A,click_ad,Jobs,0\nB,click_ad,Jobs,0\nA,send_sms,Jobs,1\n")
        #expect(try work.run("fu-partition", ["--buckets", "1", "--no-zstd", "--output-dir", "b", "in.csv"]).status == 0)
        let featurized = try work.run("fu-featurize", ["-i", "b/bucket-00000-of-00001.csv"])
        #expect(featurized.status == 65)
        #expect(featurized.stderr.contains("Fake changes within user 'A' (0 before, 1 here) (b/bucket-00000-of-00001.csv:4)"))
    }

    @Test func mergeErrorsNameTheFileAndLineAndKeepTheOutput() throws {
        let work = try Workdir()
        try work.write("a.csv", "UserId,x\nA,1\nC,1\n")
        try work.write("b.csv", "UserId,x\nB,2\nD,2\n")
        try work.write("unsorted.csv", "UserId,x\nB,2\nA,2\n")
        try work.write("other.csv", "UserId,y\nB,2\n")
        let good = try work.run("fu-merge", ["-o", "out.csv", "a.csv", "b.csv"])
        #expect(good.status == 0)
        #expect(try work.read("out.csv") == "UserId,x\nA,1\nB,2\nC,1\nD,2\n")

        let unsorted = try work.run("fu-merge", ["-o", "out.csv", "a.csv", "unsorted.csv"])
        #expect(unsorted.status == 65)
        #expect(unsorted.stderr == "fu-merge: error: input is not sorted by UserId ('A' after 'B'); fu-featurize writes sorted tables (unsorted.csv:3)\n")

        let mismatch = try work.run("fu-merge", ["-o", "out.csv", "a.csv", "other.csv"])
        #expect(mismatch.status == 65)
        #expect(mismatch.stderr == "fu-merge: error: header does not match a.csv's (missing 'x'; extra 'y'); merge tables made by the same tool and options (other.csv:1)\n")

        try work.write("nouser.csv", "Id,x\nA,1\n")
        let noUser = try work.run("fu-merge", ["-o", "out.csv", "a.csv", "nouser.csv"])
        #expect(noUser.status == 65 && noUser.stderr == "fu-merge: error: missing required column 'UserId' (nouser.csv:1)\n")

        let absent = try work.run("fu-merge", ["-o", "out.csv", "a.csv", "absent.csv"])
        #expect(absent.status == 66)

        #expect(try work.read("out.csv") == "UserId,x\nA,1\nB,2\nC,1\nD,2\n")
        #expect(try work.files().filter { $0.hasPrefix(".out.csv") }.isEmpty)
    }

    @Test func mergeReadsStdinAndWritesJSONLinesAndZstd() throws {
        let work = try Workdir()
        try work.write("a.csv", "UserId,x\nA,1\nC,1\n")
        #expect(try work.run("fu-merge", [], stdinFile: "a.csv").stdout == "UserId,x\nA,1\nC,1\n")
        #expect(try work.shell("printf 'UserId,x\\nB,2\\n' | fu-merge a.csv - | tr '\\n' ' '").stdout == "UserId,x A,1 B,2 C,1 ")
        #expect(try work.run("fu-merge", ["--format", "jsonl", "a.csv"]).stdout == "{\"UserId\":\"A\",\"x\":1}\n{\"UserId\":\"C\",\"x\":1}\n")
        #expect(try work.shell("fu-merge --zstd a.csv | zstd -dc").stdout == "UserId,x\nA,1\nC,1\n")
    }

    @Test func helpExamplesWork() throws {
        let work = try Workdir()
        #expect(try work.shell("mkdir data && fu-synth --users 300 --seed 1 -o data/events.csv.zst").status == 0)
        for tool in ["fu-partition", "fu-merge"] {
            let help = try work.run(tool, ["--help"]).stdout
            let examples = help.components(separatedBy: "Examples:\n")[1].components(separatedBy: "\n\n")[0]
                .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(!examples.isEmpty)
            if tool == "fu-merge" {
                // The inputs its examples name.
                #expect(try work.shell("fu-featurize --shard 0/2 -i data/events.csv.zst -o features-0.csv.zst && fu-featurize --shard 1/2 -i data/events.csv.zst -o features-1.csv.zst").status == 0)
            }
            for example in examples {
                let result = try work.shell(example)
                #expect(result.status == 0, "\(example): \(result.stderr)")
            }
        }
        let whole = try work.run("fu-featurize", ["-i", "data/events.csv.zst"]).stdout
        #expect(try work.read("features.csv") == whole)
        #expect(try work.shell("fu-merge features/").stdout == whole)
    }
}
