import HummingbirdCore
import Verification

extension APIRoutes {
    /// `/v1/verify`'s query: the user, the targets (groups, policies, profile groups), `live`. Nil
    /// when `user` is missing or a parameter is not one of ``parameters``.
    struct VerifyQuery: Equatable {
        static let parameters: Set<String> = ["user", "group", "policy", "profile_group", "live"]
        var user: String
        var targets: [Target]
        var live: Bool

        /// From Hummingbird's parse of the query (the router's requests).
        init?(_ query: FlatDictionary<Substring, Substring>) {
            self.init(pairs: query.lazy.map { ($0.key, $0.value) })
        }

        /// One pass over the parameters (the API parses this for every question): the first
        /// `user` and `live`, the targets groups first, then policies, then profile groups.
        init?(pairs: some Sequence<(Substring, Substring)>) {
            var user: Substring?
            var live: Substring?
            var groups: [Target] = [], policies: [Target] = [], profileGroups: [Target] = []
            for (key, value) in pairs {
                switch key {
                case "user": if user == nil { user = value }
                case "group": groups.append(.group(String(value)))
                case "policy": policies.append(.policy(String(value)))
                case "profile_group": profileGroups.append(.profileGroup(String(value)))
                case "live": if live == nil { live = value }
                default: return nil
                }
            }
            guard let user, !user.isEmpty else { return nil }
            self.user = String(user)
            targets = groups + policies + profileGroups
            self.live = live == "true"
        }

        /// The query of a request target `/v1/verify?…`, read in one pass over its bytes as
        /// Hummingbird reads it (split at `&`, the key up to the first `=`, the value
        /// percent-decoded) — the API's usual question, without building a URI and a
        /// dictionary of its parameters. Nil for anything else: another path, an invalid
        /// query, an empty part, a byte outside printable ASCII, a `#`, a `+`, a `%` not followed by
        /// two hex digits, a value not UTF-8 once decoded. The caller then goes through
        /// Hummingbird's own parse (``init(_:)``), so the two never disagree.
        static func plain(target: String) -> VerifyQuery? {
            var target = target
            return target.withUTF8 { bytes -> VerifyQuery? in
                let prefix = verifyPrefix
                guard bytes.count > prefix.count, prefix.indices.allSatisfy({ bytes[$0] == prefix[$0] }) else { return nil }
                var pairs: [(Substring, Substring)] = []
                var start = prefix.count
                while start <= bytes.count {
                    var end = start
                    while end < bytes.count, bytes[end] != UInt8(ascii: "&") { end += 1 }
                    guard end > start, let pair = pair(bytes[start..<end]) else { return nil }
                    pairs.append(pair)
                    start = end + 1
                }
                return VerifyQuery(pairs: pairs)
            }
        }

        private static let verifyPrefix = Array("\(APIRoutes.verifyPath)?".utf8)

        private static func pair(_ part: Slice<UnsafeBufferPointer<UInt8>>) -> (Substring, Substring)? {
            guard let equals = part.firstIndex(of: UInt8(ascii: "=")) else {
                guard part.allSatisfy(isPlain) else { return nil }
                return (Substring(decoding: part, as: UTF8.self), "")
            }
            let key = part[..<equals]
            guard key.allSatisfy(isPlain) else { return nil }
            var value: [UInt8] = []
            value.reserveCapacity(part.endIndex - equals)
            var index = equals + 1
            while index < part.endIndex {
                let byte = part[index]
                guard byte != UInt8(ascii: "%") else {
                    guard index + 2 < part.endIndex, let high = hexValue(part[index + 1]), let low = hexValue(part[index + 2]) else { return nil }
                    value.append(high << 4 | low)
                    index += 3
                    continue
                }
                guard isPlain(byte) else { return nil }
                value.append(byte)
                index += 1
            }
            guard let decoded = String(validating: value, as: UTF8.self) else { return nil }
            return (Substring(decoding: key, as: UTF8.self), decoded[...])
        }

        /// Printable ASCII but `#` (a fragment), `+` (which some readers take for a space) and `%`.
        private static func isPlain(_ byte: UInt8) -> Bool {
            byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "#") && byte != UInt8(ascii: "+") && byte != UInt8(ascii: "%")
        }

        private static func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
    }
}
