import Foundation

/// Name resolution and a bare TCP connect, so `check` can tell "no such host" from "nothing
/// listens" from "TLS refused" before libldap folds them into one error.
enum NetworkProbe {
    enum Resolution { case success([String]), failure(String) }

    /// Host and port of an ldap:// or ldaps:// URL; nil for ldapi://.
    static func endpoint(of url: String) -> (host: String, port: Int)? {
        let lower = url.lowercased()
        guard !lower.hasPrefix("ldapi://"), let components = URLComponents(string: url), let host = components.host, !host.isEmpty else { return nil }
        return (host, components.port ?? (lower.hasPrefix("ldaps://") ? 636 : 389))
    }

    static func resolve(_ host: String) -> Resolution {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &result)
        guard rc == 0, let first = result else { return .failure(String(cString: gai_strerror(rc))) }
        defer { freeaddrinfo(result) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let address = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                if !addresses.contains(address) { addresses.append(address) }
            }
            cursor = info.pointee.ai_next
        }
        return .success(addresses)
    }

    /// Connects to each address of `host` in turn; nil on the first success, else why not.
    static func connect(host: String, port: Int, timeout: Duration) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return "cannot resolve \(host)" }
        defer { freeaddrinfo(result) }
        var failure = "no address to try"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            cursor = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { failure = String(cString: strerror(errno)); continue }
            defer { close(fd) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return nil }
            guard errno == EINPROGRESS else { failure = String(cString: strerror(errno)); continue }
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let milliseconds = Int32(min(Double(timeout.components.seconds) * 1000, Double(Int32.max)))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready == 0 { failure = "no answer within \(timeout.components.seconds) s"; continue }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 { return nil }
            failure = String(cString: strerror(error))
        }
        return failure
    }
}
