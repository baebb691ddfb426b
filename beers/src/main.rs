fn main() -> std::process::ExitCode {
    shared::service::main::<beers::Beers>()
}
