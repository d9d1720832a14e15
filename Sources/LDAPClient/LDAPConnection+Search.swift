import CLDAP
import Foundation

/// The state of one search in progress on a connection: which page it is on, the
/// server's paging cookie, and the outstanding message id.
final class SearchCursor {
    let request: LDAPSearchRequest
    let operation: String
    var cookie: [UInt8]?
    var msgid: Int32?
    var isFinished = false
    var pages = 0
    var entries = 0

    init(request: LDAPSearchRequest) {
        self.request = request
        self.operation = "search \"\(request.base)\" (scope \(request.scope.rawValue), filter \(request.filter))"
    }
}

/// How many events an unpaged search hands over at a time; paged searches hand over one page.
let unpagedBatchSize = 500

extension LDAPConnection {
    /// Reads the next batch of events of a search: the rest of the current page (paged), or up
    /// to ``unpagedBatchSize`` events (unpaged). Returns nil once the search completed with
    /// success. Any result code other than success throws — a partial result is never success.
    func nextBatch(_ cursor: SearchCursor) throws -> [LDAPSearchEvent]? {
        var batch: [LDAPSearchEvent] = []
        // Sized once: grown by doubling, a page of 1,000 entries took ten allocations, and
        // each large one made glibc consolidate its free lists (3% of a full read's CPU).
        if !cursor.request.persistent { batch.reserveCapacity(min(cursor.request.pageSize ?? unpagedBatchSize, 10_000)) }
        while !cursor.isFinished {
            if cursor.msgid == nil { try sendSearch(cursor) }
            guard let msgid = cursor.msgid else { break }
            let message: OpaquePointer
            if cursor.request.persistent {
                // Hand back what came so far (or nothing) every second, so the caller can
                // act on it and notice cancellation.
                guard let received = try pollMessage(msgid: msgid, operation: cursor.operation, timeout: .seconds(1)) else { return batch }
                message = received
            } else {
                message = try waitForMessage(msgid: msgid, operation: cursor.operation)
            }
            defer { ldap_msgfree(message) }
            switch UInt(ldap_msgtype(message)) {
            case UInt(LDAP_RES_SEARCH_ENTRY):
                batch.append(.entry(try parseEntry(message, cursor: cursor)))
                cursor.entries += 1
            case UInt(LDAP_RES_SEARCH_REFERENCE):
                batch.append(.reference(try parseReference(message, cursor: cursor)))
            case UInt(LDAP_RES_SEARCH_RESULT):
                cursor.msgid = nil
                let controls = try finishPage(message, cursor: cursor)
                if !cursor.request.controls.isEmpty && cursor.isFinished { batch.append(.done(controls)) }
                // Ask for the next page now, so the server prepares it while the caller
                // works through this one: at most two pages are ever in flight.
                if !cursor.isFinished && cursor.request.pageSize != nil { try sendSearch(cursor) }
                if !batch.isEmpty && cursor.request.pageSize != nil { return batch }
            case UInt(LDAP_RES_INTERMEDIATE):
                if !cursor.request.controls.isEmpty { batch.append(.intermediate(try parseIntermediate(message, cursor: cursor))) }
            default:
                abandon(cursor)
                throw LDAPError(
                    operation: cursor.operation, code: .decodingError,
                    diagnosticMessage: "unexpected message type \(ldap_msgtype(message)) in a search")
            }
            if cursor.request.pageSize == nil && batch.count >= unpagedBatchSize { return batch }
            if cursor.request.persistent && !batch.isEmpty { return batch }
        }
        return batch.isEmpty ? nil : batch
    }

    /// Ends a paged search without asking for more: the page already requested is read to
    /// its result and dropped, so the server is done with it before another paged search
    /// starts on the connection. If that read fails, the search is abandoned instead.
    func settle(_ cursor: SearchCursor) {
        defer {
            cursor.msgid = nil
            cursor.isFinished = true
        }
        guard let msgid = cursor.msgid else { return }
        do {
            while true {
                let message = try waitForMessage(msgid: msgid, operation: cursor.operation)
                let type = ldap_msgtype(message)
                ldap_msgfree(message)
                if UInt(type) == UInt(LDAP_RES_SEARCH_RESULT) { return }
            }
        } catch {
            abandon(cursor)
        }
    }

    /// Stops a search that the caller no longer reads.
    func abandon(_ cursor: SearchCursor) {
        if let msgid = cursor.msgid {
            ldap_abandon_ext(handle, msgid, nil, nil)
        }
        cursor.msgid = nil
        cursor.isFinished = true
    }

    func sendSearch(_ cursor: SearchCursor) throws {
        let request = cursor.request
        var pageControl: UnsafeMutablePointer<LDAPControl>?
        if let pageSize = request.pageSize {
            var cookieBytes = cursor.cookie ?? []
            let rc = cookieBytes.withUnsafeMutableBytes { raw -> Int32 in
                var cookie = berval(bv_len: ber_len_t(raw.count), bv_val: raw.baseAddress?.assumingMemoryBound(to: CChar.self))
                if cursor.cookie == nil {
                    return ldap_create_page_control(handle, ber_int_t(pageSize), nil, 1, &pageControl)
                }
                return ldap_create_page_control(handle, ber_int_t(pageSize), &cookie, 1, &pageControl)
            }
            guard rc == LDAP_SUCCESS else { throw lastError(operation: cursor.operation, code: rc) }
        }
        var serverControls: [UnsafeMutablePointer<LDAPControl>?] = pageControl.map { [$0] } ?? []
        defer { for control in serverControls { ldap_control_free(control) } }
        for control in request.controls {
            var created: UnsafeMutablePointer<LDAPControl>?
            var bytes = control.value ?? []
            let rc = bytes.withUnsafeMutableBytes { raw -> Int32 in
                var value = berval(bv_len: ber_len_t(raw.count), bv_val: raw.baseAddress?.assumingMemoryBound(to: CChar.self))
                if control.value == nil { return ldap_control_create(control.oid, control.critical ? 1 : 0, nil, 1, &created) }
                return ldap_control_create(control.oid, control.critical ? 1 : 0, &value, 1, &created)
            }
            guard rc == LDAP_SUCCESS, let created else { throw lastError(operation: cursor.operation + " (control \(control.oid))", code: rc) }
            serverControls.append(created)
        }
        let controlCount = serverControls.count
        serverControls.append(nil)
        var tv = timeval(options.operationTimeout)
        var msgid: Int32 = 0
        let scope: Int32 = switch request.scope {
        case .base: LDAP_SCOPE_BASE
        case .one: LDAP_SCOPE_ONELEVEL
        case .sub: LDAP_SCOPE_SUBTREE
        }
        let rc = withCStringArray(request.attributes) { attrs in
            serverControls.withUnsafeMutableBufferPointer { controls in
                ldap_search_ext(
                    handle, request.base, scope, request.filter, attrs, 0,
                    controlCount == 0 ? nil : controls.baseAddress, nil, &tv, Int32(request.sizeLimit), &msgid)
            }
        }
        guard rc == LDAP_SUCCESS else { throw lastError(operation: cursor.operation, code: rc) }
        cursor.msgid = msgid
        cursor.pages += 1
    }

    /// Reads a page's result; returns its controls.
    @discardableResult
    private func finishPage(_ message: OpaquePointer, cursor: SearchCursor) throws -> [LDAPControlValue] {
        let controls: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
        do {
            controls = try checkResult(message, operation: cursor.operation, keepControls: true)
        } catch {
            cursor.isFinished = true
            throw error
        }
        defer { ldap_controls_free(controls) }
        let values = controlValues(controls)
        guard cursor.request.pageSize != nil else {
            cursor.isFinished = true
            return values
        }
        guard let control = ldap_control_find(CLDAP_CONTROL_PAGEDRESULTS(), controls, nil) else {
            // The control was critical, so a server that answers without it has sent everything.
            cursor.isFinished = true
            return values
        }
        var count: ber_int_t = 0
        var cookie = berval(bv_len: 0, bv_val: nil)
        let rc = ldap_parse_pageresponse_control(handle, control, &count, &cookie)
        defer { ber_memfree(cookie.bv_val) }
        guard rc == LDAP_SUCCESS else {
            cursor.isFinished = true
            throw lastError(operation: cursor.operation + " (paged results response)", code: rc)
        }
        if cookie.bv_len == 0 || cookie.bv_val == nil {
            cursor.isFinished = true
        } else {
            cursor.cookie = Array(UnsafeRawBufferPointer(start: cookie.bv_val, count: Int(cookie.bv_len)))
        }
        return values
    }

    private func parseIntermediate(_ message: OpaquePointer, cursor: SearchCursor) throws -> LDAPIntermediate {
        var oid: UnsafeMutablePointer<CChar>?
        var data: UnsafeMutablePointer<berval>?
        let rc = ldap_parse_intermediate(handle, message, &oid, &data, nil, 0)
        defer {
            ldap_memfree(oid)
            ber_bvfree(data)
        }
        guard rc == LDAP_SUCCESS else { throw lastError(operation: cursor.operation + " (reading an intermediate response)", code: rc) }
        return LDAPIntermediate(oid: oid.map { String(cString: $0) }, value: data.map { bytes($0.pointee) })
    }

    private func parseEntry(_ message: OpaquePointer, cursor: SearchCursor) throws -> LDAPEntry {
        // Controls first: libldap reads them from the message's own BER position.
        var controls: [LDAPControlValue] = []
        if !cursor.request.controls.isEmpty {
            var received: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
            let rc = ldap_get_entry_controls(handle, message, &received)
            defer { ldap_controls_free(received) }
            guard rc == LDAP_SUCCESS else { throw lastError(operation: cursor.operation + " (reading an entry's controls)", code: rc) }
            controls = controlValues(received)
        }
        var ber: OpaquePointer?
        var name = berval(bv_len: 0, bv_val: nil)
        var rc = ldap_get_dn_ber(handle, message, &ber, &name)
        defer { ber_free(ber, 0) }
        guard rc == LDAP_SUCCESS else { throw lastError(operation: cursor.operation + " (reading an entry)", code: rc) }
        let dn = String(decoding: UnsafeRawBufferPointer(start: name.bv_val, count: Int(name.bv_len)), as: UTF8.self)
        var attributes: [LDAPAttribute] = []
        attributes.reserveCapacity(cursor.request.attributes.isEmpty ? 16 : cursor.request.attributes.count)
        while true {
            var values: UnsafeMutablePointer<berval>?
            rc = ldap_get_attribute_ber(handle, message, ber, &name, &values)
            guard rc == LDAP_SUCCESS else {
                throw lastError(operation: cursor.operation + " (reading entry \"\(dn)\")", code: rc)
            }
            guard name.bv_val != nil else { break }
            defer { ber_memfree(values) }
            let attributeName = String(
                decoding: UnsafeRawBufferPointer(start: name.bv_val, count: Int(name.bv_len)), as: UTF8.self)
            // The values end to end in one buffer, sized first (see LDAPAttribute).
            var bytes: [UInt8] = []
            var ends: [Int32] = []
            if let values {
                var count = 0, total = 0
                while values[count].bv_val != nil {
                    total += Int(values[count].bv_len)
                    count += 1
                }
                bytes.reserveCapacity(total)
                ends.reserveCapacity(count)
                for index in 0..<count {
                    bytes.append(contentsOf: UnsafeRawBufferPointer(start: values[index].bv_val, count: Int(values[index].bv_len)))
                    ends.append(Int32(bytes.count))
                }
            }
            attributes.append(LDAPAttribute(name: attributeName, bytes: bytes, ends: ends))
        }
        return LDAPEntry(dn: dn, attributes: attributes, controls: controls)
    }

    private func parseReference(_ message: OpaquePointer, cursor: SearchCursor) throws -> [String] {
        var referrals: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let rc = ldap_parse_reference(handle, message, &referrals, nil, 0)
        defer { ldap_memvfree(referrals.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: UnsafeMutableRawPointer?.self) }) }
        guard rc == LDAP_SUCCESS else { throw lastError(operation: cursor.operation + " (reading a reference)", code: rc) }
        return stringArray(referrals)
    }
}

/// Copies a NULL-terminated list of libldap controls.
func controlValues(_ list: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?) -> [LDAPControlValue] {
    guard let list else { return [] }
    var result: [LDAPControlValue] = []
    var index = 0
    while let control = list[index] {
        let value = control.pointee.ldctl_value.bv_val == nil ? nil : bytes(control.pointee.ldctl_value)
        result.append(LDAPControlValue(
            oid: String(cString: control.pointee.ldctl_oid), critical: control.pointee.ldctl_iscritical != 0, value: value))
        index += 1
    }
    return result
}

/// The bytes of a berval.
func bytes(_ value: berval) -> [UInt8] {
    guard let pointer = value.bv_val else { return [] }
    return Array(UnsafeRawBufferPointer(start: pointer, count: Int(value.bv_len)))
}

/// Calls `body` with a NULL-terminated `char *[]` for the strings, or NULL when empty.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) throws -> R) rethrows -> R {
    guard !strings.isEmpty else { return try body(nil) }
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return try pointers.withUnsafeMutableBufferPointer { try body($0.baseAddress) }
}
