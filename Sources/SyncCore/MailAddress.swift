/// Mail addresses as directories write them.
public enum MailAddress {
    /// The addresses among alias values, sorted and without duplicates: `proxyAddresses`
    /// values are typed (`SMTP:` primary, `smtp:` secondary, `X500:`, `SIP:` …), and only
    /// the SMTP ones are addresses; untyped values (`mailAlternateAddress`,
    /// `userPrincipalName`) are kept as they are.
    public static func aliases(_ values: [String]) -> [String] {
        var result = Set<String>()
        for value in values {
            if let colon = value.firstIndex(of: ":"), !value[..<colon].contains("@") {
                let type = value[..<colon]
                guard type.lowercased() == "smtp" else { continue }
                let address = value[value.index(after: colon)...]
                if !address.isEmpty { result.insert(String(address)) }
            } else if !value.isEmpty {
                result.insert(value)
            }
        }
        return result.sorted()
    }

    /// The domain of an address, lower-cased; nil when there is no `@`.
    public static func domain(of address: String) -> String? {
        guard let at = address.lastIndex(of: "@") else { return nil }
        let domain = address[address.index(after: at)...]
        return domain.isEmpty ? nil : domain.lowercased()
    }
}
