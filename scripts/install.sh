#!/usr/bin/env bash
# Installs the fu tools with their shell completions and man pages where shells and man
# look for them.
#   scripts/install.sh                      release build into ~/.local
#   scripts/install.sh --prefix /usr/local  (as root, or with sudo)
#   scripts/install.sh --bin-dir DIR        tools already built in DIR (e.g. an unpacked
#                                           dist/ tarball); no build
# Completions come from each tool (swift-argument-parser's generator); man pages from
# help2man, made from the same --help text.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

prefix=${HOME:?}/.local
bin_dir=""
while (($#)); do
    case $1 in
        --prefix) prefix=$2; shift 2 ;;
        --bin-dir) bin_dir=$2; shift 2 ;;
        -h | --help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "install.sh: error: unknown option: $1" >&2; exit 64 ;;
    esac
done
if [ -z "$bin_dir" ]; then
    swift build -c release >&2
    bin_dir=.build/release
fi
if ! command -v help2man >/dev/null; then
    echo "install.sh: error: help2man is needed for the man pages (Debian: apt-get install help2man)" >&2
    exit 69
fi

mkdir -p "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/bash-completion/completions" \
    "$prefix/share/zsh/site-functions" "$prefix/share/fish/vendor_completions.d"
installed=()
man_work=$(mktemp -d)
trap 'rm -rf "$man_work"' EXIT
for tool in "$bin_dir"/fu-*; do
    [[ -x $tool && ! -d $tool && $(basename "$tool") != *.* ]] || continue
    name=$(basename "$tool")
    install -m 0755 "$tool" "$prefix/bin/$name"
    # swift-argument-parser offers a `help` subcommand at every empty word, which the tools
    # (filters without subcommands) would then take as a file name: dropped.
    "$tool" --generate-completion-script bash |
        sed "s/^\( *\)COMPREPLY+=(\$(compgen -W 'help' -- \"\${cur}\"))\$/\1: # no subcommands/" \
        > "$prefix/share/bash-completion/completions/$name"
    "$tool" --generate-completion-script zsh > "$prefix/share/zsh/site-functions/_$name"
    "$tool" --generate-completion-script fish > "$prefix/share/fish/vendor_completions.d/$name.fish"
    summary=$("$tool" --help | awk 'NR == 1 { sub(/^OVERVIEW: /, "") } /^$/ { exit } { printf "%s%s", sep, $0; sep = " " }')
    # help2man reads --help through a wrapper without the "OVERVIEW: " label (it would
    # repeat in DESCRIPTION), and takes the examples one a line (it would fill them into
    # one paragraph).
    # shellcheck disable=SC2016 # $1 and $@ are the wrapper's own
    printf '#!/bin/sh\nif [ "$1" = --help ]; then "%s" --help | sed -e "1s/^OVERVIEW: //" -e "/^Examples:$/,/^$/d"; else exec "%s" "$@"; fi\n' \
        "$tool" "$tool" > "$man_work/$name"
    chmod +x "$man_work/$name"
    {
        printf '[EXAMPLES]\n.nf\n'
        COLUMNS=200 "$tool" --help | awk '/^Examples:$/ { e = 1; next } e && /^$/ { exit } e { sub(/^  /, ""); gsub(/\\/, "\\e"); print }'
        printf '.fi\n'
    } > "$man_work/$name.h2m"
    help2man --no-info --no-discard-stderr --section 1 --name "$summary" --include "$man_work/$name.h2m" \
        "$man_work/$name" > "$prefix/share/man/man1/$name.1"
    installed+=("$name")
done
((${#installed[@]})) || { echo "install.sh: error: no fu tools in $bin_dir" >&2; exit 66; }
echo "install.sh: installed ${installed[*]} into $prefix/bin (completions and man pages under $prefix/share)" >&2
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "install.sh: add $prefix/bin to PATH: export PATH=\"$prefix/bin:\$PATH\"" >&2 ;;
esac
