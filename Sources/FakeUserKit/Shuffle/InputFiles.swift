#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The input list of fu-partition and fu-merge: files as given, a directory as every
/// regular file in it sorted by name (byte order; names starting with '.', such as the
/// temporary files of an unfinished output, are left out), none as stdin ("-"), which must
/// not be a terminal.
public func expandInputs(_ paths: [String]) throws -> [String] {
    if paths.isEmpty || paths.contains("-") { try requireStandardInputNotTerminal() }
    if paths.isEmpty { return ["-"] }
    var result: [String] = []
    for path in paths {
        var info = stat()
        guard path != "-", stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            result.append(path)  // a missing file fails when it is opened, naming it
            continue
        }
        let files = try regularFiles(in: path)
        if files.isEmpty { throw ToolError(.noInput, "no input files in directory \(path)") }
        result += files
    }
    return result
}

private func regularFiles(in directory: String) throws -> [String] {
    guard let handle = opendir(directory) else {
        throw ToolError(.noInput, "cannot read directory \(directory): \(FileDescriptor.errnoText())")
    }
    defer { closedir(handle) }
    var names: [[UInt8]] = []
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            Array(raw.prefix { $0 != 0 })
        }
        if name.first == UInt8(ascii: ".") { continue }
        names.append(name)
    }
    let folder = directory.hasSuffix("/") ? directory : directory + "/"
    return names.sorted { $0.lexicographicallyPrecedes($1) }
        .map { folder + String(decoding: $0, as: UTF8.self) }
        .filter { path in
            var info = stat()
            return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
        }
}
