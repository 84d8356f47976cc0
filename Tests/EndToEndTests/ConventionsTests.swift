import Foundation
import Testing

/// Issue 13: the tools behave like the ones people know (xsv, jq, zstd): a positional input
/// file, a hint instead of a silent wait on a terminal, errors that name the next step.
@Suite struct Conventions {
    @Test func everyFilterTakesItsInputByPosition() throws {
        let work = try Workdir()
        #expect(try work.shell("fu-synth --users 200 --seed 2 -o events.csv").status == 0)
        #expect(try work.shell("fu-featurize events.csv > a.csv && fu-featurize -i events.csv > b.csv && fu-featurize - < events.csv > c.csv && cmp a.csv b.csv && cmp a.csv c.csv").status == 0)
        #expect(try work.shell("fu-fit a.csv -o model.json && fu-score -m model.json a.csv > p.csv && fu-cv --folds 3 a.csv > cv.json && fu-split --test t.csv a.csv > train.csv").status == 0)
        #expect(try work.shell("test $(wc -l < p.csv) -eq 201 && test $(cat t.csv train.csv | wc -l) -eq 202").status == 0)
        let both = try work.run("fu-featurize", ["events.csv", "-i", "events.csv"])
        #expect(both.status == 64)
        #expect(both.stderr.hasPrefix("fu-featurize: error: give the input file once: FILE or -i FILE, not both"))
    }

    /// On a terminal with no file named, a one-line hint and exit 64, as zstd does.
    @Test func noInputOnATerminalIsAHint() throws {
        let work = try Workdir()
        for tool in ["fu-featurize", "fu-split --test t.csv", "fu-fit", "fu-cv", "fu-score -m m.json", "fu-drift -m m.json"] {
            let name = String(tool.split(separator: " ")[0])
            let result = try work.shell("script -qec '\(tool)' /dev/null")
            #expect(result.status == 64, "\(tool)")
            #expect(result.stdout.hasPrefix("\(name): error: no input: name a file (\(name) FILE) or pipe one in"), "\(tool): \(result.stdout)")
        }
    }

    @Test func errorsNameTheNextStep() throws {
        let work = try Workdir()
        #expect(try work.shell("fu-synth --users 50 -o events.csv && fu-featurize events.csv | fu-fit -o model.json").status == 0)
        for tool in ["fu-fit", "fu-cv", "fu-score -m model.json", "fu-drift -m model.json"] {
            let name = String(tool.split(separator: " ")[0])
            let result = try work.shell("\(tool) events.csv")
            #expect(result.status == 65)
            #expect(result.stderr == "\(name): error: this is an events table (it has Event and Category columns), not features: run fu-featurize first (fu-featurize events.csv | \(name) ...) (events.csv:1)\n")
        }
        let unlabelled = try work.shell("cut -d, -f1-3 events.csv | fu-split --test t.csv")
        #expect(unlabelled.status == 65)
        #expect(unlabelled.stderr == "fu-split: error: missing required column 'Fake': a stratified split needs labels; without them split with --by-hash (stdin:1)\n")
        #expect(try work.shell("cut -d, -f1-3 events.csv | fu-split --by-hash --test t.csv > train.csv").status == 0)
    }

    @Test func synthWritesJSONLinesThatFeaturizeAlike() throws {
        let work = try Workdir()
        let same = try work.shell("cmp <(fu-synth --users 300 --format jsonl | fu-featurize) <(fu-synth --users 300 | fu-featurize) && fu-synth --users 1 --format jsonl --no-label | head -1")
        #expect(same.status == 0)
        #expect(same.stdout.hasPrefix(#"{"UserId":""#) && same.stdout.hasSuffix("\"}\n") && !same.stdout.contains("Fake"))
    }

    /// predict.sh shows the first failure only, not fu-score's complaint about the empty pipe.
    @Test func predictShowsOneError() throws {
        let work = try Workdir()
        let result = try work.shell("bash \(try work.fixtureFromRepository("workflows/predict.sh")) -i nope.csv -o p.csv")
        #expect(result.status == 1)
        #expect(result.stderr == "fu-featurize: error: cannot open nope.csv: No such file or directory\n")
        #expect(!(try work.files()).contains("p.csv"))
    }

    /// Every example in every tool's --help runs as pasted (fu-serve's need a running server
    /// and are run by ServeEndToEnd's curl calls instead), in a folder with the files the
    /// examples name.
    @Test func helpExamplesRunAsPasted() throws {
        let work = try Workdir()
        #expect(try work.shell("""
            fu-synth --users 2000 --seed 7 -o events.csv.zst && zstd -dcq events.csv.zst > events.csv &&
            fu-featurize events.csv > features.csv && fu-split --test test.csv features.csv > train.csv &&
            fu-fit train.csv -o model.json
            """).status == 0)
        var ran = 0
        for tool in ["fu-synth", "fu-featurize", "fu-split", "fu-fit", "fu-cv", "fu-score"] {
            let help = try work.run(tool, ["--help"]).stdout
            for command in helpExamples(help) {
                let result = try work.shell("set -o pipefail; " + command)
                #expect(result.status == 0, "\(tool) example failed: \(command)\n\(result.stderr)")
                ran += 1
            }
        }
        #expect(ran >= 14)
    }
}

extension Conventions {
    /// scripts/install.sh into a temporary prefix: the tools run from there, bash takes
    /// the completion script, and man shows the page.
    @Test func installPutsToolsCompletionsAndManPagesInPlace() throws {
        let work = try Workdir()
        let script = try work.fixtureFromRepository("scripts/install.sh")
        let install = try work.shell("bash \(script) --prefix \(work.path("prefix")) --bin-dir \(Workdir.binaries.path)")
        #expect(install.status == 0, "\(install.stderr)")
        let prefix = work.path("prefix")
        let run = try work.shell("""
            PATH=\(prefix)/bin:/usr/bin:/bin fu-synth --version &&
            bash -c 'source \(prefix)/share/bash-completion/completions/fu-fit && complete -p fu-fit' &&
            test -s \(prefix)/share/zsh/site-functions/_fu-score && test -s \(prefix)/share/fish/vendor_completions.d/fu-cv.fish &&
            MANPATH=\(prefix)/share/man MANWIDTH=200 man fu-featurize | grep -E '^NAME|fu-featurize - |^EXAMPLES'
            """)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("\(try work.run("fu-synth", ["--version"]).stdout)complete -o filenames -F _fu-fit fu-fit\nNAME\n"))
        #expect(run.stdout.contains("EXAMPLES"))
    }
}

/// The commands under "Examples:" in a --help text, continuation lines joined.
func helpExamples(_ help: String) -> [String] {
    guard let start = help.range(of: "Examples:\n") else { return [] }
    var commands: [String] = []
    var current = ""
    for line in help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
        if line.trimmingCharacters(in: .whitespaces).isEmpty { break }
        let text = line.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("\\") {
            current += text.dropLast() + " "
        } else {
            commands.append(current + text)
            current = ""
        }
    }
    return commands
}
