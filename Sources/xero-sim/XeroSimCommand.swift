import ArgumentParser

@main
struct XeroSimCommand: ParsableCommand {
    func run() throws { print("xero-sim: not built yet") }
}
