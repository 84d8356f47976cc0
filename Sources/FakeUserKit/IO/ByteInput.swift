import CZstd
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A source of bytes: stdin, a file or memory, plain or zstd-compressed (detected by magic
/// number, never by name). Files and stdin are read (and zstd decoded) ahead on a
/// background thread, so I/O and decoding overlap with parsing. Memory is a few fixed
/// buffers whatever the input size.
public final class ByteInput {
    /// The name errors use: the path, or "stdin".
    public let name: String
    private let source: RawSource
    private var readAhead: ReadAheadStage?
    /// Decodes on the caller's thread, or ahead on another's (`decodeAhead`): a file or memory.
    private var shared: SharedDecoder?
    /// Decodes on the caller's thread alone: a pipe.
    private var readInline: ReadAheadStage.Producer?
    /// Decoded bytes handed out so far, for progress.
    public private(set) var bytesRead = 0
    /// Stop with `InputTooLarge` past this many decoded bytes (a server's guard against a
    /// small zstd body that expands without bound).
    public var limit: Int?

    /// `path` nil or "-" reads stdin. `name` is what errors call it (the path by default).
    /// `readAhead`: read (and decode) on a thread of its own, ahead of the caller; false
    /// for a caller whose own threads already keep every core busy (fu-featurize parses
    /// and counts on two), where a third thread only took turns with them on two cores
    /// (zstd input 1.33 → 1.26 s). Such a caller decodes on its reading thread, and, from a
    /// file, its other thread decodes ahead when it would wait (`decodeAhead`).
    public init(path: String?, name displayName: String? = nil, readAhead: Bool = true) throws {
        if let path, path != "-" {
            source = RawSource(fd: try FileDescriptor.openForReading(path), ownsDescriptor: true, name: displayName ?? path)
            name = displayName ?? path
        } else {
            source = RawSource(fd: 0, ownsDescriptor: false, name: "stdin")
            name = "stdin"
        }
        try sniff(readAhead: readAhead)
    }

    /// Reads from bytes already in memory; `name` is what errors call them; `readAhead` as
    /// for a file.
    public init(bytes: [UInt8], name: String, readAhead: Bool = true) throws {
        source = RawSource(memory: bytes, name: name)
        self.name = name
        try sniff(readAhead: readAhead)
    }

    /// Whether the input is zstd-compressed (decoded as it is read).
    public private(set) var isCompressed = false

    /// How many decoded bytes the input holds, when that is known before reading: a plain
    /// file's size, or the content size a zstd frame header declares (for progress).
    public private(set) var expectedBytes: Int?
    /// A zstd file's size when its frame declares no content size (fu's own zstd output is
    /// streamed, so it never does): progress then goes by the compressed bytes read.
    private var compressedBytes: Int?

    /// How much of the input has been read, from 0 to 1, when that can be told: decoded
    /// bytes against a declared size, else compressed bytes against the file's size.
    public var fractionRead: Double? {
        if let expectedBytes, expectedBytes > 0 { return min(Double(bytesRead) / Double(expectedBytes), 1) }
        guard let compressedBytes, compressedBytes > 0 else { return nil }
        return min(Double(source.bytesConsumed.load(ordering: .relaxed)) / Double(compressedBytes), 1)
    }

    /// Decides from the first bytes whether a zstd decoder sits in between.
    private func sniff(readAhead ahead: Bool) throws {
        try source.peek(18)  // a zstd frame header is at most 18 bytes
        let source = self.source
        if ZstdDecoder.isZstdMagic(source.pending) {
            isCompressed = true
            let size = source.pending.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
            // The first frame's declared size: the whole input's for the usual one-frame
            // file (with more frames the percentage stops at 100).
            if size < UInt64(Int.max) { expectedBytes = Int(size) } else { compressedBytes = source.fileSize }
            let decoder = try ZstdDecoder(name: name)
            let decode: ReadAheadStage.Producer = { buffer, count in
                try decoder.read(into: buffer, count: count) { try source.read(into: $0, count: $1) }
            }
            if ahead {
                readAhead = ReadAheadStage(decode)
            } else if source.fileSize != nil || source.isMemory {
                shared = SharedDecoder(decode)
            } else {
                // A pipe's read may wait: not while holding the decoder, nor for a whole
                // chunk (a bad row must fail the run while the writer still holds the pipe).
                readInline = decode
            }
        } else if !source.isMemory {
            expectedBytes = source.fileSize
            if ahead { readAhead = ReadAheadStage { try source.read(into: $0, count: $1) } }
        }
    }

    /// Fills `pointer` with up to `count` bytes; returns 0 only at the end of input.
    public func read(into pointer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        let n = try readAhead?.read(into: pointer, count: count) ?? shared?.read(into: pointer, count: count) ?? readInline?(pointer, count) ?? source.read(into: pointer, count: count)
        bytesRead += n
        if let limit, bytesRead > limit { throw InputTooLarge(limit: limit) }
        return n
    }

    /// Decodes a chunk ahead of the reader on the caller's thread, when that can be done at
    /// once: for a thread that would otherwise wait for the reader's. False when not (plain
    /// input or read ahead, enough decoded, the end reached, or the reader's thread
    /// decoding).
    public func decodeAhead() -> Bool { shared?.decodeAhead() ?? false }

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

/// The largest file read whole (a model, a metrics or cross-validation JSON): larger is
/// not such a file, and reading /dev/zero must end in an error, not in memory exhaustion.
public let maxDocumentBytes = 64 << 20

/// Reads a whole small file (plain or zstd, decoded) of at most `maxDocumentBytes`; `what`
/// names it in the error ("model file").
public func readDocument(_ path: String, what: String) throws -> [UInt8] {
    try readDocument(ByteInput(path: path), what: what)
}

/// The decoded bytes of a document already opened (from memory: a server's raw file).
public func readDocument(_ input: ByteInput, what: String) throws -> [UInt8] {
    input.limit = maxDocumentBytes
    do {
        return try input.readAll()
    } catch is InputTooLarge {
        throw documentTooLarge(input.name, what: what)
    }
}

/// A file's bytes as stored (not decoded), at most `maxDocumentBytes`.
public func readRawDocument(_ path: String, what: String) throws -> [UInt8] {
    let fd = try FileDescriptor.openForReading(path)
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = try chunk.withUnsafeMutableBytes { try FileDescriptor.read(fd, into: $0.baseAddress!, count: $0.count, name: path) }
        if n == 0 { return result }
        result.append(contentsOf: chunk[0..<n])
        if result.count > maxDocumentBytes { throw documentTooLarge(path, what: what) }
    }
}

private func documentTooLarge(_ path: String, what: String) -> ToolError {
    ToolError.limit("the \(what) is larger than \(maxDocumentBytes >> 20) MiB (the limit)", at: InputLocation(file: path))
}

/// Whether bytes start with a zstd frame (or a skippable frame), as inputs are sniffed.
public func startsWithZstdFrame(_ bytes: [UInt8]) -> Bool {
    ZstdDecoder.isZstdMagic(Array(bytes.prefix(4)))
}

/// Thrown when an input passes `ByteInput.limit`.
public struct InputTooLarge: Error, Sendable, Equatable {
    public var limit: Int
}

/// The raw (possibly compressed) bytes: a descriptor or memory, with the sniffed bytes
/// handed out first.
final class RawSource: @unchecked Sendable {
    let name: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let memory: [UInt8]?
    private var memoryOffset = 0
    private(set) var pending: [UInt8] = []
    private var pendingOffset = 0
    var isMemory: Bool { memory != nil }
    /// Raw bytes read so far; read by the thread that draws progress.
    let bytesConsumed = Atomic<Int>(0)

    /// The size of a regular file behind the descriptor (not a pipe or a terminal).
    var fileSize: Int? {
        var info = stat()
        guard memory == nil, fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(info.st_size)
    }

    init(fd: Int32, ownsDescriptor: Bool, name: String) {
        self.fd = fd
        self.ownsDescriptor = ownsDescriptor
        self.name = name
        memory = nil
    }

    init(memory: [UInt8], name: String) {
        fd = -1
        ownsDescriptor = false
        self.memory = memory
        self.name = name
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Reads up to `count` bytes ahead into `pending` without consuming them.
    func peek(_ count: Int) throws {
        var head = [UInt8](repeating: 0, count: count)
        var have = 0
        while have < count {
            let n = try head.withUnsafeMutableBytes { try readSource(into: $0.baseAddress! + have, count: count - have) }
            if n == 0 { break }
            have += n
        }
        pending = Array(head[0..<have])
    }

    func read(into pointer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        if pendingOffset < pending.count {
            let n = min(count, pending.count - pendingOffset)
            pending.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress! + pendingOffset, byteCount: n) }
            pendingOffset += n
            return n
        }
        return try readSource(into: pointer, count: count)
    }

    private func readSource(into pointer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        guard let memory else {
            let n = try FileDescriptor.read(fd, into: pointer, count: count, name: name)
            bytesConsumed.add(n, ordering: .relaxed)
            return n
        }
        let n = min(count, memory.count - memoryOffset)
        if n > 0 {
            memory.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress! + memoryOffset, byteCount: n) }
            memoryOffset += n
        }
        return n
    }
}

/// Bytes produced ahead of the reader (read, or decoded).
final class ByteChunk {
    let bytes: UnsafeMutableRawPointer
    var count = 0

    init(capacity: Int) {
        bytes = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { bytes.deallocate() }
}

/// What a producer ahead of the reader hands it, in order.
enum ChunkMessage {
    case chunk(ByteChunk)
    case end
    case failure(any Error)
}

/// The reader's side of chunks produced ahead: the chunk being read, then the end or the
/// error, which every later read throws again.
struct ChunkCursor {
    private var current: ByteChunk?
    private var offset = 0
    private(set) var ended = false
    private var failure: (any Error)?

    /// Copies up to `count` bytes of the current chunk; 0 at the end; nil when the next
    /// message is needed (`release`, then `accept`).
    mutating func read(into pointer: UnsafeMutableRawPointer, count: Int) throws -> Int? {
        if let current, offset < current.count {
            let n = min(count, current.count - offset)
            pointer.copyMemory(from: current.bytes + offset, byteCount: n)
            offset += n
            return n
        }
        if let failure { throw failure }
        return ended ? 0 : nil
    }

    /// The chunk read so far, given back to be refilled.
    mutating func release() -> ByteChunk? {
        defer { (current, offset) = (nil, 0) }
        return current
    }

    mutating func accept(_ message: ChunkMessage) {
        switch message {
        case .chunk(let chunk): current = chunk
        case .end: ended = true
        case .failure(let error): (ended, failure) = (true, error)
        }
    }
}

/// Runs a producer of bytes (reads, or a zstd decoder) on a background thread into a few
/// 1 MiB chunks, handed out in order; an error arrives after the bytes before it.
final class ReadAheadStage: @unchecked Sendable {
    private static let chunkSize = 1 << 20
    typealias Producer = (UnsafeMutableRawPointer, Int) throws -> Int
    private let free = BlockingQueue<ByteChunk>(capacity: 4)
    private let full = BlockingQueue<ChunkMessage>(capacity: 5)
    private let cancelled = Atomic<Bool>(false)
    private var thread: BackgroundThread?
    private var cursor = ChunkCursor()

    init(_ produce: @escaping Producer) {
        for _ in 0..<4 { free.put(ByteChunk(capacity: ReadAheadStage.chunkSize)) }
        thread = BackgroundThread { [self] in
            while true {
                let chunk = free.take()
                if cancelled.load(ordering: .relaxed) {
                    full.put(.end)
                    return
                }
                do {
                    chunk.count = try produce(chunk.bytes, ReadAheadStage.chunkSize)
                } catch {
                    full.put(.failure(error))
                    return
                }
                if chunk.count == 0 {
                    full.put(.end)
                    return
                }
                full.put(.chunk(chunk))
            }
        }
    }

    deinit {
        // The reader may stop early (an error, a closed stdout): let the thread finish.
        if !cursor.ended {
            cancelled.store(true, ordering: .relaxed)
            if let current = cursor.release() { free.put(current) }
            while true {
                if case .chunk(let chunk) = full.take() { free.put(chunk) } else { break }
            }
        }
        thread?.join()
    }

    func read(into pointer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        while true {
            if let n = try cursor.read(into: pointer, count: count) { return n }
            if let used = cursor.release() { free.put(used) }
            cursor.accept(full.take())
        }
    }
}

/// A decoder two threads share: the reader's decodes when no chunk is ready, another
/// decodes ahead when it would otherwise wait (`decodeAhead`), so neither core idles while
/// the other has work. (A thread of its own for decoding took turns with the two busy ones
/// instead.) Chunks go out in order; an error arrives after the bytes before it.
final class SharedDecoder: @unchecked Sendable {
    /// 128 KiB chunks, four ahead at most, stay in the caches until read (256 KiB chunks
    /// were 0.06 s slower on 10M events).
    private static let chunkSize = 1 << 17
    private static let maxReady = 4
    private let produce: ReadAheadStage.Producer
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Under `mutex` (`produce` too runs under it).
    private var ready: [ChunkMessage] = []
    private var free: [ByteChunk] = []
    private var finished = false
    /// The reader's thread's alone.
    private var cursor = ChunkCursor()

    init(_ produce: @escaping ReadAheadStage.Producer) {
        self.produce = produce
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func read(into pointer: UnsafeMutableRawPointer, count: Int) throws -> Int {
        while true {
            if let n = try cursor.read(into: pointer, count: count) { return n }
            pthread_mutex_lock(mutex)
            if let used = cursor.release() { free.append(used) }
            if ready.isEmpty { produceOne() }
            let message = ready.removeFirst()
            pthread_mutex_unlock(mutex)
            cursor.accept(message)
        }
    }

    func decodeAhead() -> Bool {
        guard pthread_mutex_trylock(mutex) == 0 else { return false }
        defer { pthread_mutex_unlock(mutex) }
        guard !finished, ready.count < SharedDecoder.maxReady else { return false }
        produceOne()
        return true
    }

    /// Under `mutex`: decodes the next chunk into `ready`, and the end or the error after it.
    private func produceOne() {
        if finished { return }
        let chunk = free.popLast() ?? ByteChunk(capacity: SharedDecoder.chunkSize)
        chunk.count = 0
        do {
            while chunk.count < SharedDecoder.chunkSize {
                let n = try produce(chunk.bytes + chunk.count, SharedDecoder.chunkSize - chunk.count)
                if n == 0 { break }
                chunk.count += n
            }
        } catch {
            if chunk.count > 0 { ready.append(.chunk(chunk)) }
            ready.append(.failure(error))
            finished = true
            return
        }
        if chunk.count > 0 { ready.append(.chunk(chunk)) }
        if chunk.count < SharedDecoder.chunkSize {
            ready.append(.end)
            finished = true
        }
    }
}

/// libzstd's streaming decoder; concatenated frames (and skippable frames) are one stream.
final class ZstdDecoder: @unchecked Sendable {
    private let context: OpaquePointer
    private let name: String
    private var input: UnsafeMutableRawPointer
    private let inputCapacity: Int
    private var inputSize = 0
    private var inputPosition = 0
    private var rawFinished = false
    /// Whether the last call that made progress left a frame unfinished (libzstd's hint != 0).
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
