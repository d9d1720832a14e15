import Foundation
import Testing

@testable import SyncStore

@Suite("Sorting a large load by key prefix")
struct KeyPrefixTests {
    @Test("the prefix's order is the keys' byte order; ties and short keys fall back to the strings")
    func orderAgrees() {
        #expect(KeyPrefix.of("") == 0)
        #expect(KeyPrefix.of("a") == 0x6100_0000_0000_0000)
        #expect(KeyPrefix.of("abcdefgh") == KeyPrefix.of("abcdefghZZZ"))
        #expect(KeyPrefix.of("ab") < KeyPrefix.of("ab0"))
        var random = SystemRandomNumberGenerator()
        // Ids and addresses: long shared prefixes, lengths around eight, every order.
        let alphabet = Array("0123456789abcdef@.-_u")
        var keys = (0..<5_000).map { index -> String in
            let length = Int.random(in: 0...14, using: &random)
            return (index % 3 == 0 ? "user-000" : "") + String((0..<length).map { _ in alphabet.randomElement(using: &random)! })
        }
        keys += ["", "a", "a", "ab", "u1@x", "u10@x", "uid=u1,", "uid=u10,"]
        let byPrefix = keys.sorted { lhs, rhs in
            let (l, r) = (KeyPrefix.of(lhs), KeyPrefix.of(rhs))
            return l != r ? l < r : lhs < rhs
        }
        let byBytes = keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let mismatch = byPrefix.indices.first { byPrefix[$0] != byBytes[$0] }
        #expect(mismatch == nil, "first difference at \(mismatch ?? 0): \(mismatch.map { (byPrefix[$0], byBytes[$0]) }.debugDescription)")
    }
}
