import CCrypto
import FakeUserKit
import Foundation
import Synchronization

/// A model as the server holds it: validated, with its file's SHA-256 and load time.
public struct LoadedModel: Sendable {
    public var model: Model
    public var path: String
    public var sha256: String
    public var loadedAt: Date

    /// Reads and validates the file (plain or zstd), as `fu-score -m` does.
    public static func load(path: String) throws -> LoadedModel {
        let raw: [UInt8]
        do {
            raw = try readRawDocument(path, what: "model file")
        } catch let error as ToolError where error.status == .noInput {
            throw ToolError(.noInput, "cannot read model file", at: InputLocation(file: path))
        }
        let model = try Model.parse(try readDocument(ByteInput(bytes: raw, name: path), what: "model file"), name: path)
        // Requests bring events: a model with a feature they cannot give could answer none.
        try model.checkScorableFromEvents(by: "fu-serve")
        return LoadedModel(model: model, path: path, sha256: try sha256Hex(raw), loadedAt: Date())
    }
}

/// The SHA-256 of `bytes` in lower-case hex, as `sha256sum` prints it (libcrypto's EVP).
func sha256Hex(_ bytes: [UInt8]) throws -> String {
    var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    let ok = bytes.withUnsafeBytes { data in
        EVP_Digest(data.baseAddress, data.count, &digest, &length, EVP_sha256(), nil)
    }
    guard ok == 1, length == 32 else { throw ToolError(.software, "SHA-256 failed in libcrypto") }
    return digest.prefix(32).map { byte in
        let hex = String(byte, radix: 16)
        return byte < 16 ? "0" + hex : hex
    }.joined()
}

/// The model being served. A reload swaps the whole value at once, so a request that took
/// the model before the swap finishes with it.
public final class ModelStore: Sendable {
    private let state: Mutex<LoadedModel>

    public init(_ loaded: LoadedModel) {
        state = Mutex(loaded)
    }

    public var current: LoadedModel { state.withLock { $0 } }

    /// Loads the file again; on any failure the old model stays and the error is thrown.
    @discardableResult
    public func reload() throws -> LoadedModel {
        let path = current.path
        let fresh = try LoadedModel.load(path: path)
        state.withLock { $0 = fresh }
        return fresh
    }
}
