import FuzzSupport
import LDAPClient

/// The DN parser. Beyond "no crash": a DN that parses prints as text that parses to the
/// same DN, and printing is stable.
FuzzTarget.run { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    guard let dn = try? DistinguishedName(text) else { return }
    guard let again = try? DistinguishedName(dn.description) else {
        fatalError("a parsed DN prints as text that does not parse: \(dn.description.debugDescription) from \(text.debugDescription)")
    }
    precondition(again == dn, "round trip changed the DN: \(text.debugDescription) → \(dn.description.debugDescription)")
    precondition(again.description == dn.description, "printing is not stable for \(text.debugDescription)")
    _ = dn.parent
    _ = dn.isWithin(again)
}
