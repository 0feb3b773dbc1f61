fn main() { std::process::exit(ctys::front::main()) }
