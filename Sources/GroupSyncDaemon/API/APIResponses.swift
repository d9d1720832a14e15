import Foundation
import GroupSync
import Hummingbird

/// JSON responses in the shapes the commands print (SyncJSON's encoder), and errors as
/// `{"error": "…"}` with a status that says whose fault it is.
enum APIResponse {
    /// Compact JSON (the commands pretty-print; a machine reading the API does not need it,
    /// and under load the encoding is a large share of an answer's cost).
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var data = try encoder.encode(value)
        data.append(0x0A)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `/v1/verify`'s answer through ``JSONWriter`` (the hot path).
    static func verifyJSON(_ answer: VerifyAnswer) -> Response {
        var bytes = answer.jsonBytes()
        bytes.append(0x0A)
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        (try? json(ErrorBody(error: message), status: status))
            ?? Response(status: status, body: ResponseBody(byteBuffer: ByteBuffer(string: message)))
    }

    static func text(_ text: String, contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ error: VerifyError) -> Response {
        switch error {
        case .usage, .ambiguous: self.error(error.description, status: .badRequest)
        case .noSnapshot, .store: self.error(error.description, status: .serviceUnavailable)
        case .directory: self.error(error.description, status: .badGateway)
        }
    }

    static func error(_ error: SyncError) -> Response {
        switch error {
        case .unknownDirectory: self.error(error.description, status: .badRequest)
        case .locked, .elsewhere: self.error(error.description, status: .conflict)
        case .store: self.error(error.description, status: .serviceUnavailable)
        }
    }

    struct ErrorBody: Encodable { var error: String }
}

/// `POST /v1/sync`'s body; every field optional.
struct SyncBody: Decodable {
    var directory: String?
    var directories: [String]?
    var dryRun: Bool?
    var full: Bool?
    var force: Bool?
    /// false: answer 202 with the run ids at once instead of waiting.
    var wait: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case directory, directories, full, force, wait
        case dryRun = "dry_run"
    }

    /// Any field name, to find the ones a sync request does not have.
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct UnknownFields: Error, CustomStringConvertible {
        var names: [String]
        var description: String {
            "unknown field\(names.count == 1 ? "" : "s") " + names.map { "\"\($0.prefix(100))\"" }.joined(separator: ", ")
                + "; a sync request takes " + CodingKeys.allCases.map(\.rawValue).joined(separator: ", ")
        }
    }

    init() {}

    /// Refuses fields it does not know (a caller cannot name a bind identity or a search
    /// base: a sync runs with the configuration's, always).
    init(from decoder: any Decoder) throws {
        let unknown = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue).filter { CodingKeys(rawValue: $0) == nil }
        guard unknown.isEmpty else { throw UnknownFields(names: unknown.sorted()) }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        directory = try container.decodeIfPresent(String.self, forKey: .directory)
        directories = try container.decodeIfPresent([String].self, forKey: .directories)
        dryRun = try container.decodeIfPresent(Bool.self, forKey: .dryRun)
        full = try container.decodeIfPresent(Bool.self, forKey: .full)
        force = try container.decodeIfPresent(Bool.self, forKey: .force)
        wait = try container.decodeIfPresent(Bool.self, forKey: .wait)
    }
}

/// `POST /v1/sync` with `wait: false`: the runs started (or joined), to poll.
struct StartedRuns: Encodable {
    struct Started: Encodable {
        var directory: String
        var id: Int64?
        var url: String?
    }

    var runs: [Started]
}
