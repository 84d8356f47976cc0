import CZstd
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A source of bytes: stdin or a file, plain or zstd-compressed (detected by magic number,
/// never by name). Memory is a few fixed buffers whatever the input size.
public final class ByteInput {
    /// The name errors use: the path, or "stdin".
    public let name: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    /// In-memory input (a request body, a test case) instead of a descriptor.
    private let memory: [UInt8]?
    private var memoryOffset = 0
    private var decoder: ZstdDecoder?
    /// Raw bytes read while sniffing the format, handed out before reading more.
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    /// Total bytes read from the descriptor (compressed size for zstd), for progress.
    public private(set) var rawBytesRead = 0

    /// `path` nil or "-" reads stdin.
    public init(path: String?) throws {
        if let path, path != "-" {
            fd = try FileDescriptor.openForReading(path)
            name = path
            ownsDescriptor = true
        } else {
            fd = 0
            name = "stdin"
            ownsDescriptor = false
        }
        memory = nil
        try sniff()
    }

    /// Reads from bytes already in memory; `name` is what errors call them.
    public init(bytes: [UInt8], name: String) throws {
        fd = -1
        ownsDescriptor = false
        memory = bytes
        self.name = name
        try sniff()
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Reads the first bytes and decides whether a zstd decoder sits in between.
    private func sniff() throws {
        var head = [UInt8](repeating: 0, count: 4)
        var have = 0
        while have < 4 {
            let n = try head.withUnsafeMutableBytes { buffer in
                try readSource(into: buffer.baseAddress! + have, count: 4 - have)
            }
            if n == 0 { break }
            have += n
        }
        pending = Array(head[0..<have])
        if ZstdDecoder.isZstdMagic(pending) {
            decoder = try ZstdDecoder(name: name)
        }
    }

    /// Reads raw (possibly compressed) bytes: first the sniffed ones, then from the descriptor.
    private func readRaw(into pointer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        if pendingOffset < pending.count {
            let n = min(count, pending.count - pendingOffset)
            pending.withUnsafeBytes { source in
                pointer.copyMemory(from: source.baseAddress! + pendingOffset, byteCount: n)
            }
            pendingOffset += n
            return n
        }
        return try readSource(into: pointer, count: count)
    }

    private func readSource(into pointer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        let n: Int
        if let memory {
            n = min(count, memory.count - memoryOffset)
            if n > 0 {
                memory.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress! + memoryOffset, byteCount: n) }
            }
            memoryOffset += n
        } else {
            n = try FileDescriptor.read(fd, into: pointer, count: count, name: name)
        }
        rawBytesRead += n
        return n
    }

    /// Fills `buffer` with up to `count` decoded bytes; returns 0 only at the end of input.
    public func read(into pointer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        guard let decoder else { return try readRaw(into: pointer, count: count) }
        return try decoder.read(into: pointer, count: count) { raw, rawCount in
            try self.readRaw(into: raw, count: rawCount)
        }
    }

    /// Reads the whole input into memory (for small inputs such as a model file).
    public func readAll() throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: $0.count) }
            if n == 0 { return result }
            result.append(contentsOf: chunk[0..<n])
        }
    }
}

/// libzstd's streaming decoder; concatenated frames (and skippable frames) are one stream.
final class ZstdDecoder {
    private let context: OpaquePointer
    private let name: String
    private var input: UnsafeMutableRawPointer
    private let inputCapacity: Int
    private var inputSize = 0
    private var inputPosition = 0
    private var rawFinished = false
    /// libzstd's last hint: 0 exactly when the last frame ended cleanly.
    private var frameOpen = false

    static func isZstdMagic(_ head: [UInt8]) -> Bool {
        guard head.count >= 4 else { return false }
        let magic = UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24
        return magic == 0xFD2F_B528 || (magic & 0xFFFF_FFF0) == 0x184D_2A50
    }

    init(name: String) throws {
        guard let context = ZSTD_createDCtx() else { throw ToolError(.software, "cannot create zstd decoder") }
        self.context = context
        self.name = name
        inputCapacity = max(ZSTD_DStreamInSize(), 1 << 17)
        input = UnsafeMutableRawPointer.allocate(byteCount: inputCapacity, alignment: 16)
    }

    deinit {
        ZSTD_freeDCtx(context)
        input.deallocate()
    }

    func read(
        into pointer: UnsafeMutableRawPointer, count: Int,
        readRaw: (UnsafeMutableRawPointer, Int) throws -> Int
    ) throws -> Int {
        while true {
            if inputPosition == inputSize && !rawFinished {
                inputSize = try readRaw(input, inputCapacity)
                inputPosition = 0
                if inputSize == 0 { rawFinished = true }
            }
            var inBuffer = ZSTD_inBuffer(src: input, size: inputSize, pos: inputPosition)
            var outBuffer = ZSTD_outBuffer(dst: pointer, size: count, pos: 0)
            let hint = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
            if ZSTD_isError(hint) != 0 {
                throw ToolError.data("corrupt zstd stream in \(name): \(String(cString: ZSTD_getErrorName(hint)))")
            }
            inputPosition = inBuffer.pos
            if inBuffer.pos > 0 || outBuffer.pos > 0 { frameOpen = hint != 0 }
            if outBuffer.pos > 0 { return outBuffer.pos }
            if rawFinished && inputPosition == inputSize {
                if frameOpen { throw ToolError.data("truncated zstd stream in \(name)") }
                return 0
            }
        }
    }
}
