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
        // One example a line, and the overview without its label (issue 21).
        let page = try work.shell("MANPATH=\(prefix)/share/man MANWIDTH=200 man fu-featurize")
        #expect(page.stdout.contains("\n       fu-featurize --shard 0/4 events.csv.zst -o features-0.csv.zst\n"), "\(page.stdout)")
        #expect(!page.stdout.contains("OVERVIEW:"))
        #expect(page.stdout.contains("--sorted"), "the options are still there")
    }
}

extension Conventions {
    /// Issue 21: one option order for every tool: the common options first (input, output,
    /// format, logging, in that order, those a tool has), then the tool's own.
    @Test func commonOptionsComeFirstInOneOrder() throws {
        let work = try Workdir()
        let common = ["--input", "--skip-bad-rows", "--output", "--output-dir", "--zstd", "--zstd-level", "--format", "--verbose", "--quiet", "--log-dir"]
        for tool in try Workdir.toolNames() {
            let help = try work.shell("COLUMNS=200 \(tool) --help").stdout
            guard let start = help.range(of: "\nOPTIONS:\n") else { continue }
            let longs = help[start.upperBound...].split(separator: "\n").compactMap { line -> String? in
                guard line.hasPrefix("  -") else { return nil }
                return line.split(separator: " ").map { String($0.trimmingCharacters(in: CharacterSet(charactersIn: ","))) }
                    .first { $0.hasPrefix("--") }?.components(separatedBy: "/").first
            }.filter { $0 != "--help" && $0 != "--version" }
            let shared = longs.filter(common.contains)
            #expect(Array(longs.prefix(shared.count)) == shared, "\(tool): the common options are not first: \(longs)")
            #expect(shared == common.filter(shared.contains), "\(tool): the common options are out of order: \(shared)")
        }
    }
}

extension Conventions {
    /// Issue 21: `fu-score --metrics -` would mix the JSON into the predictions on stdout.
    @Test func metricsOnStdoutNeedsThePredictionsElsewhere() throws {
        let work = try Workdir()
        let model = try work.fixtureFromRepository("models/fake_user_detector.json")
        #expect(try work.shell("fu-synth --users 300 --seed 3 | fu-featurize > features.csv").status == 0)
        let mixed = try work.run("fu-score", ["-m", model, "--metrics", "-", "features.csv"])
        #expect(mixed.status == 64)
        #expect(mixed.stderr.contains("--metrics - would write the metrics into the predictions on stdout"))
        #expect(mixed.stdout.isEmpty)
        let apart = try work.run("fu-score", ["-m", model, "--metrics", "-", "-o", "predictions.csv", "features.csv"])
        #expect(apart.status == 0)
        let predictions = try work.read("predictions.csv")
        #expect(apart.stdout.hasPrefix("{") && predictions.hasPrefix("UserId,Fake,Probability\n"))
    }
}

extension Conventions {
    /// Issue 21: every tool's help pastes at 80 columns: no example is wrapped mid-command.
    @Test func helpExamplesFitEightyColumns() throws {
        let work = try Workdir()
        let tools = try Workdir.toolNames()
        #expect(tools.contains("fu-report") && tools.count >= 11)
        for tool in tools {
            let help = try work.shell("COLUMNS=80 \(tool) --help").stdout
            guard let start = help.range(of: "Examples:\n") else { continue }
            for line in help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
                if line.isEmpty { break }
                #expect(line.hasPrefix("  "), "\(tool): an example wrapped at 80 columns: \(line)")
            }
        }
    }
}

extension Conventions {
    /// Issue 21: installed bash completions complete file names for every file option and
    /// the positional input, the values of enumerated options, and never offer `help`.
    @Test func bashCompletionsCompleteFilesAndValues() throws {
        let work = try Workdir()
        let script = try work.fixtureFromRepository("scripts/install.sh")
        #expect(try work.shell("bash \(script) --prefix \(work.path("prefix")) --bin-dir \(Workdir.binaries.path)").status == 0)
        try work.write("model.json", "{}")
        try work.write("events.csv", "")
        let completions = work.path("prefix/share/bash-completion/completions")
        // What Tab offers for the words given, the last being the one completed.
        let result = try work.shell("""
            offers() {
                local tool=$1
                source \(completions)/$tool
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
                "_$tool" "$tool" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
                echo "$*: ${COMPREPLY[*]}"
            }
            offers fu-score -m mod
            offers fu-score ev
            offers fu-featurize ''
            offers fu-watch --emit ''
            offers fu-fit --calibrate ''
            offers fu-score --format ''
            offers fu-report --predictions mo
            offers fu-serve --state mo
            """)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("fu-score -m mod: model.json"))
        #expect(lines.contains("fu-score ev: events.csv"))
        let empty = lines.first { $0.hasPrefix("fu-featurize : ") } ?? ""
        #expect(empty.contains("events.csv") && empty.contains("model.json") && !empty.split(separator: " ").contains("help"), "\(empty)")
        #expect(lines.contains("fu-watch --emit : changes every final"))
        #expect(lines.contains("fu-fit --calibrate : none sigmoid"))
        #expect(lines.contains("fu-score --format : csv jsonl"))
        #expect(lines.contains("fu-report --predictions mo: model.json"))
        #expect(lines.contains("fu-serve --state mo: model.json"))
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
