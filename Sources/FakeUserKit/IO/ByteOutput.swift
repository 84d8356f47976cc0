import CZstd
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered byte sink: stdout or a file, optionally zstd-compressed. A file is written
/// under a temporary name beside it and renamed only by `commit()`, so a failed run never
/// leaves a half-written file or destroys the previous good one.
public final class ByteOutput {
    public let name: String
    private let fd: Int32
    private let finalPath: String?
    private let temporaryPath: String?
    private var encoder: ZstdEncoder?
    private var buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 1 << 18
    private var count = 0
    private var finished = false
    /// What an in-memory output has collected so far.
    private var memory: [UInt8] = []

    /// `path` nil or "-" writes stdout. `compress` nil means "when the name ends in .zst".
    public init(path: String?, compress: Bool? = nil, level: Int32 = 3) throws {
        let usesStdout = path == nil || path == "-"
        if usesStdout {
            fd = 1
            name = "stdout"
            finalPath = nil
            temporaryPath = nil
        } else if let path, ByteOutput.isSpecialFile(path) {
            // /dev/null, a FIFO, /dev/stderr: written in place (a rename would replace it).
            let opened = open(path, O_WRONLY | O_CLOEXEC)
            if opened < 0 {
                throw ToolError.io("cannot open \(path): \(FileDescriptor.errnoText())")
            }
            fd = opened
            name = path
            finalPath = nil
            temporaryPath = nil
        } else {
            let path = path!
            let temporary = ByteOutput.temporaryName(for: path)
            let opened = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if opened < 0 {
                throw ToolError.io("cannot create \(path): \(FileDescriptor.errnoText())")
            }
            TemporaryFiles.remember(temporary)
            fd = opened
            name = path
            finalPath = path
            temporaryPath = temporary
        }
        buffer = .allocate(capacity: capacity)
        let wantsZstd = compress ?? (path?.hasSuffix(".zst") ?? false)
        if wantsZstd { encoder = try ZstdEncoder(level: level) }
    }

    /// An output that collects its bytes in memory (for formatting parts of one output in
    /// parallel); `collected()` hands them over.
    public init(inMemory: Void) {
        fd = -1
        name = "memory"
        finalPath = nil
        temporaryPath = nil
        buffer = .allocate(capacity: capacity)
    }

    public func collected() throws -> [UInt8] {
        try flushBuffer()
        defer { memory = [] }
        return memory
    }

    deinit {
        if !finished { abandon() }
        buffer.deallocate()
    }

    /// True when `path` exists and is not a regular file (a device, a FIFO, a terminal).
    static func isSpecialFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG
    }

    /// `.NAME.tmp-PID-N` in the target's folder, so the final rename stays on one file system.
    static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(folder).\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    // MARK: Writing

    @inline(__always)
    public func write(byte: UInt8) throws {
        if count == capacity { try flushBuffer() }
        buffer[count] = byte
        count += 1
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        if bytes.count > capacity - count {
            try flushBuffer()
            if bytes.count > capacity {
                try emit(bytes)
                return
            }
        }
        (buffer + count).update(from: base.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        count += bytes.count
    }

    public func write(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        try write(UnsafeRawBufferPointer(bytes))
    }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Room for at least `needed` bytes without a flush; used by the number formatters.
    @inline(__always)
    func reserve(_ needed: Int) throws -> UnsafeMutablePointer<UInt8> {
        if capacity - count < needed { try flushBuffer() }
        return buffer + count
    }

    @inline(__always)
    func advance(_ written: Int) { count += written }

    private func flushBuffer() throws {
        guard count > 0 else { return }
        let bytes = UnsafeRawBufferPointer(start: buffer, count: count)
        count = 0
        try emit(bytes)
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        if fd < 0 {
            memory.append(contentsOf: bytes)
        } else if let encoder {
            try encoder.compress(bytes, end: false) { try FileDescriptor.writeAll(fd, $0, name: name) }
        } else {
            try FileDescriptor.writeAll(fd, bytes, name: name)
        }
    }

    /// Flushes everything; for a file, renames the temporary file into place.
    public func commit() throws {
        try ByteOutput.commit([self])
    }

    /// Commits a tool's outputs together: every one is written out and closed first, and
    /// only when all succeeded are they renamed into place. A failure (a full disk on the
    /// last one) then leaves every previous file as it was.
    public static func commit(_ outputs: [ByteOutput?]) throws {
        let outputs = outputs.compactMap { $0 }
        do {
            for output in outputs { try output.finishWriting() }
        } catch {
            for output in outputs { output.abandon() }
            throw error
        }
        for output in outputs { try output.publish() }
    }

    private var written = false

    /// Flushes, ends the zstd frame and closes; a file keeps its temporary name.
    private func finishWriting() throws {
        guard !finished, !written else { return }
        try flushBuffer()
        if let encoder {
            try encoder.compress(UnsafeRawBufferPointer(start: nil, count: 0), end: true) {
                try FileDescriptor.writeAll(fd, $0, name: name)
            }
        }
        written = true
        if temporaryPath != nil && close(fd) != 0 {
            throw ToolError.io("cannot write \(name): \(FileDescriptor.errnoText())")
        }
    }

    /// Renames a written file into place.
    private func publish() throws {
        guard !finished else { return }
        finished = true
        if fd > 2 && temporaryPath == nil { close(fd) }
        if let temporaryPath, let finalPath {
            defer { TemporaryFiles.forget(temporaryPath) }
            if rename(temporaryPath, finalPath) != 0 {
                let text = FileDescriptor.errnoText()
                unlink(temporaryPath)
                throw ToolError.io("cannot write \(finalPath): \(text)")
            }
        }
    }

    /// Drops a file's temporary copy; the previous file at the final name is untouched.
    public func abandon() {
        guard !finished else { return }
        finished = true
        if fd > 2 && temporaryPath == nil { close(fd) }
        if let temporaryPath {
            if !written { close(fd) }
            unlink(temporaryPath)
            TemporaryFiles.forget(temporaryPath)
        }
    }
}

/// libzstd's streaming encoder.
final class ZstdEncoder {
    private let context: OpaquePointer
    private var output: UnsafeMutableRawPointer
    private let outputCapacity: Int

    init(level: Int32) throws {
        guard let context = ZSTD_createCCtx() else { throw ToolError(.software, "cannot create zstd encoder") }
        self.context = context
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        // A content checksum, as the zstd tool writes: corruption is found, not decoded.
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        outputCapacity = ZSTD_CStreamOutSize()
        output = UnsafeMutableRawPointer.allocate(byteCount: outputCapacity, alignment: 16)
    }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
    }

    func compress(_ bytes: UnsafeRawBufferPointer, end: Bool, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var inBuffer = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        let mode = end ? ZSTD_e_end : ZSTD_e_continue
        while true {
            var outBuffer = ZSTD_outBuffer(dst: output, size: outputCapacity, pos: 0)
            let remaining = ZSTD_compressStream2(context, &outBuffer, &inBuffer, mode)
            if ZSTD_isError(remaining) != 0 {
                throw ToolError(.software, "zstd: \(String(cString: ZSTD_getErrorName(remaining)))")
            }
            if outBuffer.pos > 0 { try sink(UnsafeRawBufferPointer(start: output, count: outBuffer.pos)) }
            let done = end ? remaining == 0 : inBuffer.pos == inBuffer.size
            if done { return }
        }
    }
}
