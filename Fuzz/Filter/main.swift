import FuzzSupport
import SyncConfig
import LDAPClient

/// The filter builder and the configuration's filter checker. Any bytes, escaped as an
/// assertion value, make a filter the checker accepts, with no metacharacter left bare,
/// and unescaping gives the bytes back. Any text given to the checker gets an answer.
FuzzTarget.run { input in
    let bytes = Array(input)
    _ = FilterSyntax.problem(in: String(decoding: bytes, as: UTF8.self))

    let escaped = LDAPFilter.escape(bytes: bytes)
    for byte in escaped.utf8 {
        precondition(byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "*") && byte != UInt8(ascii: "(") && byte != UInt8(ascii: ")"),
                     "escaped value keeps byte \(byte): \(escaped)")
    }
    precondition(unescape(escaped) == bytes, "escaping does not round-trip: \(bytes) → \(escaped)")
    let filter = LDAPFilter.and([.equalBytes("uid", bytes), .substring("cn", initial: String(decoding: bytes, as: UTF8.self), any: [], final: nil)])
    if let problem = FilterSyntax.problem(in: filter.render()) {
        fatalError("a built filter fails the checker (\(problem)): \(filter.render())")
    }
}

/// RFC 4515 value unescaping: `\XX` is the byte XX.
func unescape(_ text: String) -> [UInt8]? {
    let source = Array(text.utf8)
    var result: [UInt8] = []
    var index = 0
    while index < source.count {
        if source[index] == UInt8(ascii: "\\") {
            guard index + 2 < source.count,
                  let byte = UInt8(String(decoding: source[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
            else { return nil }
            result.append(byte)
            index += 3
        } else {
            result.append(source[index])
            index += 1
        }
    }
    return result
}
