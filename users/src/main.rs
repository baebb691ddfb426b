fn main() -> std::process::ExitCode {
    shared::service::main::<users::Users>()
}
