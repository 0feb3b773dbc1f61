fn main() { std::process::exit(ctys::front::tool_main("wakeup", std::env::args().skip(1).collect())) }
