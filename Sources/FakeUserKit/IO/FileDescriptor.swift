#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over read(2)/write(2) that retry on EINTR and turn failures into ToolErrors.
enum FileDescriptor {
    static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    /// Opens `path` for reading; a missing or unreadable file is "missing input" (66).
    static func openForReading(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw ToolError(.noInput, "cannot open \(path): \(errnoText())")
        }
        var info = stat()
        if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw ToolError(.noInput, "cannot read \(path): Is a directory")
        }
        return fd
    }

    /// Reads up to `count` bytes; 0 means end of file.
    static func read(_ fd: Int32, into pointer: UnsafeMutableRawPointer, count: Int, name: String) throws -> Int {
        while true {
            let n = systemRead(fd, pointer, count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw ToolError.io("cannot read \(name): \(errnoText())")
        }
    }

    /// Writes all bytes; a reader that went away is `BrokenPipe`, not an error.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, name: String) throws {
        guard var pointer = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = systemWrite(fd, pointer, left)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw BrokenPipe() }
                throw ToolError.io("cannot write \(name): \(errnoText())")
            }
            pointer += n
            left -= n
        }
    }
}

// Module-qualified names differ per platform; these keep the calls above portable.
#if canImport(Glibc)
private let systemRead = Glibc.read
private let systemWrite = Glibc.write
#elseif canImport(Musl)
private let systemRead = Musl.read
private let systemWrite = Musl.write
#elseif canImport(Darwin)
private let systemRead = Darwin.read
private let systemWrite = Darwin.write
#endif

/// Writes text to stderr in one write(2), unbuffered, so lines from threads do not interleave.
public func writeToStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        _ = try? FileDescriptor.writeAll(2, UnsafeRawBufferPointer(bytes), name: "stderr")
    }
}
