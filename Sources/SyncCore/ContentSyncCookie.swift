/// The CSNs in an RFC 4533 cookie as OpenLDAP writes it (`rid=000,csn=<csn>[;<csn>…]`).
public enum ContentSyncCookie {
    public static func csns(_ cookie: [UInt8]) -> [String] {
        let text = String(decoding: cookie, as: UTF8.self)
        for part in text.split(separator: ",") where part.hasPrefix("csn=") {
            return part.dropFirst(4).split(separator: ";").map(String.init)
        }
        return []
    }
}
