fn main() -> std::process::ExitCode {
    shared::service::main::<orders::Orders>()
}
