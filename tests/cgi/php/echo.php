<?php
// The request body as PHP reads it, sent back as it came.
header('Content-Type: application/octet-stream');
echo file_get_contents('php://input');
