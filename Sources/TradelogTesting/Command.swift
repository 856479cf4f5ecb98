import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a shell command and waits for it without Foundation's `Process`, whose exit
/// detection on Linux never fires when the command leaves a daemon behind that inherited
/// its descriptors (`pg_ctl restart` does exactly that).
public func runShell(_ command: String) async throws -> Int32 {
    var pid: pid_t = 0
    let args = ["/bin/sh", "-c", command]
    let cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    let rc = posix_spawn(&pid, "/bin/sh", nil, nil, cArgs, environ)
    guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
    var status: Int32 = 0
    while true {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { break }
        if r < 0 && errno != EINTR { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECHILD) }
        try await Task.sleep(for: .milliseconds(20))
    }
    // WIFEXITED / WEXITSTATUS are macros; decode by hand.
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
}
