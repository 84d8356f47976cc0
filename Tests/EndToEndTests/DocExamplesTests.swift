import Foundation
import Testing

/// Every shell block of README.md and docs/*.md runs, in order, in a scratch copy of the
/// repository's scripts, workflows and data, with the built tools on PATH: a README
/// example that stops working fails here. A block preceded by `<!-- not run: WHY -->` is
/// skipped (a multi-machine recipe, the CI itself); the reason is in the document.
@Suite(.serialized) struct DocExamples {
    static let documents = ["README.md"] + ((try? FileManager.default.contentsOfDirectory(atPath: Workflow.root.appendingPathComponent("docs").path)) ?? [])
        .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }

    @Test(arguments: documents) func shellBlocksRun(_ document: String) throws {
        let text = try String(contentsOf: Workflow.root.appendingPathComponent(document), encoding: .utf8)
        let blocks = shellBlocks(text)
        #expect(!blocks.isEmpty || document != "README.md")
        // Every sample output shown in the README is checked (issue 21).
        if document == "README.md" {
            #expect(blocks.contains { $0.expectedLines != nil })
            // Read in one sitting: reference material goes to docs/.
            #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count <= 250, "README.md is longer than 250 lines")
        }
        let work = try Workdir()
        let root = Workflow.root.path
        #expect(try work.shell("cp -r '\(root)/workflows' '\(root)/scripts' '\(root)/data' '\(root)/models' . && mkdir -p docs && cp '\(root)'/docs/*.png docs/ 2>/dev/null; true").status == 0)
        // A server an example started and a failed example did not stop goes with `work`.
        for (index, block) in blocks.enumerated() where block.skipReason == nil {
            if let expected = block.expectedLines {
                // A sample output: what the command prints now, at this point of the document.
                let result = try work.shell("export FU_BIN='\(Workdir.binaries.path)'; (\(block.code)) 2>&1")
                #expect(linesAppearInOrder(expected, in: result.stdout.split(separator: "\n")),
                        "\(document), sample output at line \(block.line) is not what `\(block.code)` prints:\n\(result.stdout.suffix(3000))")
                continue
            }
            let result = try work.shell("export FU_BIN='\(Workdir.binaries.path)'; set -euo pipefail\n" + block.code)
            #expect(result.status == 0, "\(document), shell block \(index + 1) (line \(block.line)) failed:\n\(block.code)\n--- stderr:\n\(result.stderr.suffix(3000))")
        }
    }
}

/// The runner the examples need: a block may start a server with `&` and a later block
/// stop it, and a block that hangs must fail its test rather than stall CI.
@Suite struct ShellRunner {
    @Test func aBackgroundChildDoesNotHoldUpItsShell() throws {
        let work = try Workdir()
        let started = Date()
        let result = try work.shell("sleep 30 > /dev/null 2>&1 & echo $! > child.pid; echo started")
        #expect(result.status == 0 && result.stdout == "started\n")
        #expect(Date().timeIntervalSince(started) < 10)
        _ = try work.shell("kill $(cat child.pid)")
    }

    @Test func aCommandPastItsDeadlineIsStoppedWithItsChildren() throws {
        let work = try Workdir()
        let result = try work.shell("sleep 60 & echo $! > child.pid; wait", deadline: 1)
        #expect(result.status == 128 + SIGTERM)
        #expect(result.stderr.contains("stopped after 1 s"))
        let childGone = "for i in $(seq 100); do kill -0 $(cat child.pid) 2>/dev/null || exit 0; sleep 0.05; done; exit 1"
        #expect(try work.shell(childGone).status == 0)
    }

    @Test func whatACommandLeftRunningIsInItsProcessGroup() throws {
        let work = try Workdir()
        let result = try work.shell("sleep 60 > /dev/null 2>&1 & echo $!")
        let child = try #require(pid_t(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(getpgid(child) == result.processGroup)
        kill(-result.processGroup, SIGTERM)
        let gone = "for i in $(seq 100); do kill -0 \(child) 2>/dev/null || exit 0; sleep 0.05; done; exit 1"
        #expect(try work.shell(gone).status == 0)
    }

    /// A test leaves no `fu-e2e-*` folder, nor anything its commands left running.
    @Test func aWorkdirGoesWithWhatItLeftRunning() throws {
        var folder = ""
        var child: pid_t = 0
        do {
            let work = try Workdir()
            folder = work.url.path
            let result = try work.shell("sleep 60 > /dev/null 2>&1 & echo $!")
            child = try #require(pid_t(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(kill(child, 0) == 0)
        }
        #expect(!FileManager.default.fileExists(atPath: folder))
        #expect(waitUntil { kill(child, 0) != 0 }, "sleep \(child) still runs")
    }

    @Test func exitCodesAndSignalsAreReportedAsByAShell() throws {
        let work = try Workdir()
        #expect(try work.shell("exit 3").status == 3)
        #expect(try work.shell("kill -KILL $$").status == 137)
        #expect(try work.shell("yes | head -1").stdout == "y\n")
    }
}

struct ShellBlock {
    var code: String
    var line: Int
    var skipReason: String?
    /// A sample output (a plain block after `<!-- output of: COMMAND -->`): `code` is the
    /// command, these its lines, which must appear in order among the lines it prints
    /// (stdout and stderr); `…` in a line stands for any text.
    var expectedLines: [String]? = nil
}

/// Whether `expected` appear in order among `lines`, `…` matching any text.
func linesAppearInOrder(_ expected: [String], in lines: [Substring]) -> Bool {
    func matches(_ pattern: String, _ line: Substring) -> Bool {
        let parts = pattern.components(separatedBy: "…")
        guard parts.count > 1 else { return line == pattern }
        var rest = line[...]
        for (index, part) in parts.enumerated() {
            if index == 0 {
                guard rest.hasPrefix(part) else { return false }
                rest = rest.dropFirst(part.count)
            } else if index == parts.count - 1 {
                return rest.hasSuffix(part)
            } else if !part.isEmpty {
                guard let found = rest.range(of: part) else { return false }
                rest = rest[found.upperBound...]
            }
        }
        return true
    }
    var next = lines.startIndex
    for pattern in expected {
        guard let found = lines[next...].firstIndex(where: { matches(pattern, $0) }) else { return false }
        next = lines.index(after: found)
    }
    return true
}

/// The ```sh (or ```bash, ```shell) blocks of a Markdown text, with the line each starts on.
func shellBlocks(_ markdown: String) -> [ShellBlock] {
    var blocks: [ShellBlock] = []
    var current: [String]?
    var start = 0
    var skip: String?
    var outputOf: String?
    var sample: [String]?
    for (number, line) in markdown.components(separatedBy: "\n").enumerated() {
        if var lines = sample {
            if line.hasPrefix("```") {
                blocks.append(ShellBlock(code: outputOf ?? "", line: start, expectedLines: lines))
                sample = nil
                outputOf = nil
            } else {
                lines.append(line)
                sample = lines
            }
        } else if let command = outputOf, line.hasPrefix("```") {
            _ = command
            sample = []
            start = number + 1
        } else if let range = line.range(of: "<!-- output of: ") {
            outputOf = String(line[range.upperBound...]).replacingOccurrences(of: " -->", with: "")
        } else if var lines = current {
            if line.hasPrefix("```") {
                blocks.append(ShellBlock(code: lines.joined(separator: "\n"), line: start, skipReason: skip))
                current = nil
                skip = nil
            } else {
                lines.append(line)
                current = lines
            }
        } else if ["```sh", "```bash", "```shell"].contains(line.trimmingCharacters(in: .whitespaces)) {
            current = []
            start = number + 1
        } else if let range = line.range(of: "<!-- not run: ") {
            skip = String(line[range.upperBound...]).replacingOccurrences(of: " -->", with: "")
        } else if !line.trimmingCharacters(in: .whitespaces).isEmpty && !line.hasPrefix("```") {
            skip = skip.flatMap { _ in line.hasPrefix("<!--") ? skip : nil }
        }
    }
    return blocks
}

@Test func sampleOutputsMatchInOrderWithWildcards() {
    let lines: [Substring] = ["a: one", "b: two 12 s", "c: three"]
    #expect(linesAppearInOrder(["a: one", "c: three"], in: lines))
    #expect(linesAppearInOrder(["b: two … s"], in: lines))
    #expect(!linesAppearInOrder(["c: three", "a: one"], in: lines))
    #expect(!linesAppearInOrder(["b: two 13 s"], in: lines))
    let blocks = shellBlocks("x\n<!-- output of: echo hi -->\n```\nhi\n```\n```sh\necho x\n```\n")
    #expect(blocks.count == 2 && blocks[0].expectedLines == ["hi"] && blocks[0].code == "echo hi" && blocks[1].expectedLines == nil)
}
