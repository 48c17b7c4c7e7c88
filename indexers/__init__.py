"""Writers of knowledge: source readers, chunking, graph and index builds."""
