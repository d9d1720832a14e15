import Foundation

/// The cn=config of a throwaway slapd, as LDIF for `slapadd -n0`: an mdb database with
/// room to grow, the memberof and refint overlays, the syncprov overlay (RFC 4533; a
/// checkpoint every 100 operations or 10 minutes, a session log of 10,000 changes) unless
/// left out, with it the accesslog overlay (every successful write recorded under
/// `cn=accesslog`, readable by every bind account, purged after a week), the usual schemas,
/// TLS, and a bind account that the server holds to a size limit (for size-limit tests).
struct SlapdConfig {
    var folder: URL
    var suffix: String
    var rootDN: String
    var rootPassword: String
    var certificates: TestCertificates
    var limitedDN: String
    var limitedSizeLimit: Int
    var extraModules: [String] = []
    var syncProvider = true

    /// The suffix of the accesslog overlay's database.
    static let accessLogSuffix = "cn=accesslog"

    /// The access clause that keeps the test process (its uid and gid over ldapi, SASL
    /// EXTERNAL) in charge of cn=config and the data.
    static var testProcessManages: String {
        "by dn.exact=gidNumber=\(getgid())+uidNumber=\(getuid()),cn=peercred,cn=external,cn=auth manage"
    }

    func ldif() throws -> String {
        let data = folder.appendingPathComponent("data").path
        var out = """
            dn: cn=config
            objectClass: olcGlobal
            cn: config
            olcPidFile: \(folder.appendingPathComponent("slapd.pid").path)
            olcTLSCACertificateFile: \(certificates.caFile)
            olcTLSCertificateFile: \(certificates.certificateFile)
            olcTLSCertificateKeyFile: \(certificates.keyFile)

            dn: cn=module{0},cn=config
            objectClass: olcModuleList
            cn: module{0}
            olcModulePath: /usr/lib/ldap
            olcModuleLoad: back_mdb
            olcModuleLoad: memberof
            olcModuleLoad: refint

            """
        out += (extraModules + (syncProvider ? ["syncprov", "accesslog"] : [])).map { "olcModuleLoad: \($0)\n" }.joined()
        out += """

            dn: cn=schema,cn=config
            objectClass: olcSchemaConfig
            cn: schema


            """
        for schema in ["core", "cosine", "nis", "inetorgperson"] {
            let path = "/etc/ldap/schema/\(schema).ldif"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CommandError(command: "read \(path)", status: 1, output: "", errorOutput: "schema file missing: install the slapd package")
            }
            out += text.trimmingCharacters(in: .whitespacesAndNewlines) + "\n\n"
        }
        out += Self.mailSchema
        out += """
            dn: olcDatabase={-1}frontend,cn=config
            objectClass: olcDatabaseConfig
            objectClass: olcFrontendConfig
            olcDatabase: {-1}frontend

            dn: olcDatabase={0}config,cn=config
            objectClass: olcDatabaseConfig
            olcDatabase: {0}config
            olcAccess: {0}to * \(Self.testProcessManages) by * none

            dn: olcDatabase={1}mdb,cn=config
            objectClass: olcDatabaseConfig
            objectClass: olcMdbConfig
            olcDatabase: {1}mdb
            olcDbDirectory: \(data)
            olcSuffix: \(suffix)
            olcRootDN: \(rootDN)
            olcRootPW: \(rootPassword)
            olcDbMaxSize: 8589934592
            olcDbIndex: objectClass eq
            olcDbIndex: entryUUID eq
            olcDbIndex: uid,mail,cn eq
            olcDbIndex: member,uniqueMember eq
            olcDbIndex: entryCSN eq
            olcSizeLimit: unlimited
            olcLimits: {0}dn.exact="\(limitedDN)" size.soft=\(limitedSizeLimit) size.hard=\(limitedSizeLimit) size.prtotal=unlimited
            olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
            olcAccess: {1}to * \(Self.testProcessManages) by * read

            dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
            objectClass: olcOverlayConfig
            objectClass: olcMemberOf
            olcOverlay: {0}memberof
            olcMemberOfRefInt: TRUE

            dn: olcOverlay={1}refint,olcDatabase={1}mdb,cn=config
            objectClass: olcOverlayConfig
            objectClass: olcRefintConfig
            olcOverlay: {1}refint
            olcRefintAttribute: member
            olcRefintAttribute: uniqueMember


            """
        if syncProvider {
            out += """
                dn: olcOverlay={2}syncprov,olcDatabase={1}mdb,cn=config
                objectClass: olcOverlayConfig
                objectClass: olcSyncProvConfig
                olcOverlay: {2}syncprov
                olcSpCheckpoint: 100 10
                olcSpSessionLog: 10000

                dn: olcDatabase={2}mdb,cn=config
                objectClass: olcDatabaseConfig
                objectClass: olcMdbConfig
                olcDatabase: {2}mdb
                olcDbDirectory: \(folder.appendingPathComponent("accesslog").path)
                olcSuffix: \(Self.accessLogSuffix)
                olcDbMaxSize: 1073741824
                olcDbIndex: objectClass,entryCSN,reqStart,reqResult eq
                olcSizeLimit: unlimited
                olcAccess: {0}to * \(Self.testProcessManages) by * read

                dn: olcOverlay={3}accesslog,olcDatabase={1}mdb,cn=config
                objectClass: olcOverlayConfig
                objectClass: olcAccessLogConfig
                olcOverlay: {3}accesslog
                olcAccessLogDB: \(Self.accessLogSuffix)
                olcAccessLogOps: writes
                olcAccessLogSuccess: TRUE
                olcAccessLogPurge: 07+00:00 01+00:00


                """
        }
        return out
    }

    /// Mail aliases as real directories hold them: `mailAlternateAddress` (the Netscape/Sun
    /// messaging schema's OID) and AD-style `proxyAddresses`, on an auxiliary class
    /// `mailAliases`, so tests and the demo can give users aliases.
    static let mailSchema = """
        dn: cn=mailaliases,cn=schema,cn=config
        objectClass: olcSchemaConfig
        cn: mailaliases
        olcAttributeTypes: ( 2.16.840.1.113730.3.1.13 NAME 'mailAlternateAddress' EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} )
        olcAttributeTypes: ( 1.2.840.113556.1.2.210 NAME 'proxyAddresses' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
        olcObjectClasses: ( 1.3.6.1.4.1.99999.2.1 NAME 'mailAliases' AUXILIARY MAY ( mailAlternateAddress $ proxyAddresses ) )


        """
}
